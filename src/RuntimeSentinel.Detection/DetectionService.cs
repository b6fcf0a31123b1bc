using Microsoft.Extensions.Hosting;

namespace RuntimeSentinel.Detection;

/// <summary>
/// Detection's lifetime in the host. Registered after alerting and before ingestion, so the host starts the shards
/// before the first event can arrive and, stopping in reverse, completes them after ingestion has stopped sending (and
/// committed) and before alert delivery drains: nothing detected is left unqueued, nothing queued is left undelivered.
/// </summary>
public sealed class DetectionService(DetectionPipeline pipeline) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken)
    {
        pipeline.Start();
        return Task.CompletedTask;
    }

    /// <summary>Completes the shards (idempotent: ingestion has usually done so while committing).</summary>
    public Task StopAsync(CancellationToken cancellationToken) => pipeline.CompleteAsync();
}
