// The docs site (VitePress): `npm run docs:dev` serves it, `npm run docs:build` builds it into docs/.vitepress/dist and checks
// every link and anchor (scripts/docs-site.ts). Everything it serves is built here: no CDN, no web font, local search.
import { defineConfig } from 'vitepress';

export default defineConfig({
  title: 'Lagless',
  description: 'Serverless-style Kafka stream processing in TypeScript: per-message parallelism, nothing lost, autoscaling you can watch.',
  lang: 'en',
  // Dead links fail the build (VitePress checks page links; scripts/docs-site.ts checks anchors and assets on the output).
  ignoreDeadLinks: false,
  useWebFonts: false,
  cleanUrls: false,
  lastUpdated: false,
  // Pages that are inputs of generators or of the repository, not pages of the site.
  srcExclude: ['**/README.md'],
  markdown: { theme: { light: 'github-light', dark: 'github-dark' } },
  themeConfig: {
    search: { provider: 'local' },
    outline: { level: [2, 3] },
    nav: [
      { text: 'Getting started', link: '/getting-started' },
      { text: 'Concepts', link: '/concepts/window-and-commits' },
      { text: 'How-to', link: '/how-to/write-a-job' },
      { text: 'Reference', link: '/cli' },
    ],
    sidebar: [
      {
        text: 'Start',
        items: [
          { text: 'Overview', link: '/' },
          { text: 'Getting started', link: '/getting-started' },
        ],
      },
      {
        text: 'Concepts',
        items: [
          { text: 'The window and commits', link: '/concepts/window-and-commits' },
          { text: 'Ordering', link: '/concepts/ordering' },
          { text: 'Retries and dead letters', link: '/concepts/retries-and-dead-letters' },
          { text: 'Delivery guarantees', link: '/concepts/delivery-guarantees' },
          { text: 'Scaling threads and replicas', link: '/concepts/scaling' },
          { text: 'Rebalancing', link: '/concepts/rebalancing' },
          { text: 'Shutdown', link: '/concepts/shutdown' },
          { text: 'Share groups', link: '/concepts/share-groups' },
          { text: 'Autoscaling policy', link: '/autoscaling' },
        ],
      },
      {
        text: 'How-to',
        items: [
          { text: 'Write a job', link: '/how-to/write-a-job' },
          { text: 'Run a local broker or cluster', link: '/how-to/local-kafka' },
          { text: 'Produce records', link: '/produce' },
          { text: 'Connect to a secure cluster', link: '/how-to/secure-cluster' },
          { text: 'Deploy: containers, Compose, Kubernetes', link: '/how-to/deploy' },
          { text: 'Monitor: status, dashboard, Prometheus', link: '/how-to/monitor' },
          { text: 'Tune', link: '/how-to/tune' },
        ],
      },
      {
        text: 'The palette job',
        items: [
          { text: 'Running it', link: '/palette-job' },
          { text: 'Safe downloads', link: '/safe-downloads' },
          { text: 'The palette engine', link: '/palette' },
        ],
      },
      {
        text: 'Reference',
        items: [
          { text: 'CLI', link: '/cli' },
          { text: 'API', link: '/api' },
          { text: 'Error and warning codes', link: '/reference/errors' },
          { text: 'Record formats', link: '/reference/records' },
          { text: 'Configuration and environment', link: '/reference/configuration' },
        ],
      },
      {
        text: 'Evidence',
        items: [
          { text: 'Reliability: the fault runner', link: '/fault-runner' },
          { text: 'Reliability report', link: '/reliability' },
          { text: 'Performance', link: '/performance' },
          { text: 'Pipeline benchmark method', link: '/pipeline-bench' },
        ],
      },
      {
        text: 'Inside',
        items: [
          { text: 'Architecture', link: '/architecture' },
          { text: 'Testing', link: '/testing' },
        ],
      },
    ],
  },
});
