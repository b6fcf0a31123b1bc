using RuntimeSentinel.Core.Alerts;

namespace RuntimeSentinel.Detection.Tests;

/// <summary>Collects published alerts (shards publish from their own threads).</summary>
internal sealed class RecordingAlerts : IAlertPublisher
{
    public List<Alert> All { get; } = [];

    /// <summary>Keep receipts unsettled (a sink that has not delivered yet); by default each alert is safe at once.</summary>
    public bool Hold { get; init; }

    public void Publish(Alert alert)
    {
        lock (All)
        {
            All.Add(alert);
        }

        if (!Hold)
        {
            alert.Receipt?.Settle();
        }
    }
}
