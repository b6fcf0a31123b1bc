namespace RuntimeSentinel.Core.Alerts;

/// <summary>
/// A destination for alerts. The dispatcher calls sinks from one thread, in batches; a sink may throw, which is
/// counted and logged per sink without affecting the others.
/// </summary>
public interface IAlertSink
{
    /// <summary>Stable, low-cardinality name used as a metric label (<c>console</c>, <c>file</c>, <c>kafka</c>).</summary>
    string Name { get; }

    ValueTask WriteAsync(IReadOnlyList<Alert> batch, CancellationToken cancellationToken);

    /// <summary>Flush anything buffered; called once when the host stops, after the last batch.</summary>
    ValueTask FlushAsync(CancellationToken cancellationToken);
}

/// <summary>Where detectors hand alerts to. Must not block: detection shards call it on their hot path.</summary>
public interface IAlertPublisher
{
    void Publish(Alert alert);
}
