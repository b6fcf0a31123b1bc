using RuntimeSentinel.TestCommon;

namespace RuntimeSentinel.Daemon.Tests;

/// <summary>An unknown document schema stops <c>sentinel run</c> at start-up with the option named, before anything is consumed.</summary>
public class AlertSchemaStartupTests
{
    [Fact]
    public async Task Run_UnknownAlertingSchema_NamesEachOptionAndExits2()
    {
        var environment = new Dictionary<string, string>
        {
            ["SENTINEL_Alerting__Schema"] = "xml",
            ["SENTINEL_Alerting__Schemas__Kafka"] = "splunk",
            ["SENTINEL_Alerting__Schemas__Slack"] = "ocsf",
        };
        using var sentinel = new SentinelProcess(environment, "run", "--bootstrap-servers", "kafka:9092", "--listen", "127.0.0.1:0", "--admin-listen", "");
        Assert.Equal(2, await sentinel.WaitForExitAsync(TimeSpan.FromSeconds(60)));
        var err = sentinel.Stderr;
        Assert.Contains("Configuration is invalid", err, StringComparison.Ordinal);
        Assert.Contains("Alerting:Schema 'xml' is not a schema: use sentinel, ocsf, ecs.", err, StringComparison.Ordinal);
        Assert.Contains("Alerting:Schemas:Kafka 'splunk' is not a schema: use sentinel, ocsf, ecs.", err, StringComparison.Ordinal);
        Assert.Contains("Alerting:Schemas:Slack: only File, Webhook, Kafka render a document schema", err, StringComparison.Ordinal);
    }
}
