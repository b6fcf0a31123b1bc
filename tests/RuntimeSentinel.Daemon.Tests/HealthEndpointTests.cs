using Microsoft.AspNetCore.Http.HttpResults;
using RuntimeSentinel.Core.Health;
using RuntimeSentinel.Kafka;

namespace RuntimeSentinel.Daemon.Tests;

public class HealthEndpointTests
{
    private static IngestionHealth LiveIngestion() =>
        new(TimeProvider.System, new KafkaMetrics(Prometheus.Metrics.WithCustomRegistry(Prometheus.Metrics.NewCustomRegistry())));

    [Fact]
    public void Healthz_AStageFaulted_Is503NamingTheStageAndItsError()
    {
        var stages = new HealthRegistry();
        stages.Register("ingest").Running();
        var dispatcher = stages.Register("alert-dispatcher");
        dispatcher.Running();
        Assert.Equal(200, ((ContentHttpResult)SentinelHost.Healthz(LiveIngestion(), stages)).StatusCode ?? 200);

        // Item failures are counted, not fatal: still healthy.
        dispatcher.ItemFailed("one alert broke a rule");
        Assert.Equal(200, ((ContentHttpResult)SentinelHost.Healthz(LiveIngestion(), stages)).StatusCode ?? 200);

        dispatcher.Faulted("IOException: disk full");
        var result = (ContentHttpResult)SentinelHost.Healthz(LiveIngestion(), stages);
        Assert.Equal(503, result.StatusCode);
        Assert.Contains("alert-dispatcher stopped: IOException: disk full", result.ResponseContent, StringComparison.Ordinal);

        // A fault is final: a later "stopped" (the host shutting down) does not hide it.
        dispatcher.Stopped();
        Assert.Equal(StageState.Faulted, dispatcher.State);
        var ready = (ContentHttpResult)SentinelHost.Readyz(LiveIngestion(), stages);
        Assert.Equal(503, ready.StatusCode);
    }
}
