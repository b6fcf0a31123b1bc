using RuntimeSentinel.Core.Alerts;

namespace RuntimeSentinel.Daemon.Cli;

/// <summary>Keeps every alert in memory, for the summaries of short-lived verbs (replay).</summary>
internal sealed class CollectingAlertSink : IAlertSink
{
    private readonly Lock _gate = new();
    private readonly List<Alert> _alerts = [];

    public string Name => "collect";

    public IReadOnlyList<Alert> Alerts
    {
        get
        {
            lock (_gate)
            {
                return _alerts.ToList();
            }
        }
    }

    public ValueTask WriteAsync(IReadOnlyList<Alert> batch, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            _alerts.AddRange(batch);
        }

        return ValueTask.CompletedTask;
    }

    public ValueTask FlushAsync(CancellationToken cancellationToken) => ValueTask.CompletedTask;
}
