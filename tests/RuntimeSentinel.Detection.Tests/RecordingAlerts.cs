using RuntimeSentinel.Core.Alerts;

namespace RuntimeSentinel.Detection.Tests;

/// <summary>Collects published alerts (shards publish from their own threads).</summary>
internal sealed class RecordingAlerts : IAlertPublisher
{
    public List<Alert> All { get; } = [];

    public void Publish(Alert alert)
    {
        lock (All)
        {
            All.Add(alert);
        }
    }
}
