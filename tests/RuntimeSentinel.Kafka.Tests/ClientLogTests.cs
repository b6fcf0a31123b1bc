namespace RuntimeSentinel.Kafka.Tests;

public class ClientLogTests
{
    [Theory]
    [InlineData("[thrd:main]: sentinel.events [0]: offset reset (at offset 56773 (leader epoch 0), broker 1) to BEGINNING", "sentinel.events")]
    [InlineData("events [2]: offset reset (at offset 0) to BEGINNING", "events")]
    [InlineData("[thrd:main]: unknown.topic [0]: offset reset", "other")]
    public void TopicOf_ClientLine_NamesOnlyASubscribedTopicWholly(string line, string expected) =>
        Assert.Equal(expected, KafkaIngestService.TopicOf(line, ["events", "sentinel.events"]));
}
