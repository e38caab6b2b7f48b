#!/usr/bin/env node
// The lagless binary: runs the CLI entry point (TypeScript, executed by Node 24 type stripping).
import "../src/cli/main.ts";
