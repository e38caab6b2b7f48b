// The fault runner's ground truth: Apache Kafka's own Java client reads whole topics (no group, every partition from its start to its end offset) and prints one JSON line per record, so that the accounting never trusts the client it is checking.
// Usage: java -cp '<kafka libs>/*' TopicDump.java <bootstrap> <read_committed|read_uncommitted> <topic>...
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.PartitionInfo;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;

public class TopicDump {
  static String json(byte[] bytes) {
    if (bytes == null) return "null";
    String s = new String(bytes, StandardCharsets.UTF_8);
    StringBuilder b = new StringBuilder(s.length() + 2).append('"');
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      switch (c) {
        case '"': b.append("\\\""); break;
        case '\\': b.append("\\\\"); break;
        case '\n': b.append("\\n"); break;
        case '\r': b.append("\\r"); break;
        case '\t': b.append("\\t"); break;
        default:
          if (c < 0x20 || Character.isSurrogate(c)) b.append(String.format("\\u%04x", (int) c));
          else b.append(c);
      }
    }
    return b.append('"').toString();
  }

  public static void main(String[] args) throws Exception {
    Properties p = new Properties();
    p.put("bootstrap.servers", args[0]);
    p.put("isolation.level", args[1]);
    p.put("enable.auto.commit", "false");
    p.put("client.id", "lagless-faults-dump");
    p.put("max.partition.fetch.bytes", "4194304");
    try (KafkaConsumer<byte[], byte[]> consumer = new KafkaConsumer<>(p, new ByteArrayDeserializer(), new ByteArrayDeserializer())) {
      List<TopicPartition> all = new ArrayList<>();
      for (int i = 2; i < args.length; i++) {
        for (PartitionInfo info : consumer.partitionsFor(args[i], Duration.ofSeconds(60))) all.add(new TopicPartition(info.topic(), info.partition()));
      }
      consumer.assign(all);
      consumer.seekToBeginning(all);
      // For read_committed the end is the last stable offset.
      Map<TopicPartition, Long> ends = new HashMap<>(consumer.endOffsets(all, Duration.ofSeconds(60)));
      StringBuilder out = new StringBuilder();
      long deadline = System.currentTimeMillis() + 300_000;
      for (;;) {
        boolean done = true;
        for (TopicPartition tp : all) if (consumer.position(tp, Duration.ofSeconds(60)) < ends.get(tp)) done = false;
        if (done) break;
        if (System.currentTimeMillis() > deadline) throw new IllegalStateException("could not read up to the end offsets " + ends);
        for (ConsumerRecord<byte[], byte[]> r : consumer.poll(Duration.ofMillis(500))) {
          if (r.offset() >= ends.get(new TopicPartition(r.topic(), r.partition()))) continue;
          out.setLength(0);
          out.append("{\"topic\":").append(json(r.topic().getBytes(StandardCharsets.UTF_8)))
              .append(",\"partition\":").append(r.partition())
              .append(",\"offset\":").append(r.offset())
              .append(",\"timestamp\":").append(r.timestamp())
              .append(",\"key\":").append(json(r.key()))
              .append(",\"value\":").append(json(r.value()))
              .append('}');
          System.out.println(out);
        }
      }
    }
  }
}
