namespace RuntimeSentinel.Core.Alerts;

/// <summary>
/// A destination for incidents. The sink renders each incident into its own wire form once (<see cref="Render"/>);
/// its delivery pipeline batches rendered items, retries with back-off and spills them to disk during an outage,
/// replaying them in order on recovery or restart. <see cref="SendAsync"/> throws to signal failure. Delivery is
/// at-least-once: a batch may be re-sent after a failure, so receivers de-duplicate on (id, version).
/// </summary>
public interface IAlertSink
{
    /// <summary>Stable, low-cardinality name used as a metric label and spill directory (<c>console</c>, <c>kafka</c>).</summary>
    string Name { get; }

    /// <summary>The incident in this sink's wire form (a JSON object, a log line, ...).</summary>
    byte[] Render(Incident incident);

    ValueTask SendAsync(IReadOnlyList<byte[]> items, CancellationToken cancellationToken);
}

/// <summary>In-process observers of emitted incidents (demo scoring, replay summaries); called on the dispatcher thread.</summary>
public interface IIncidentObserver
{
    void OnIncident(Incident incident);
}

/// <summary>Where detectors hand alerts to. Must not block: detection shards call it on their hot path.</summary>
public interface IAlertPublisher
{
    void Publish(Alert alert);

    /// <summary>
    /// Emits what is held for grouping now, so the alerts already published become safe (delivered or on disk) soon:
    /// before a stop or a revoke commits offsets. Completes when the emission is handed to the sinks, or at the timeout.
    /// </summary>
    Task FlushAsync(TimeSpan timeout) => Task.CompletedTask;

    /// <summary>
    /// On the event clock: detection shard <paramref name="source"/> has processed every event up to
    /// <paramref name="eventTime"/> and published their alerts. Incident grouping then follows the events' time even
    /// while no alert arrives (a quiet stream still closes its incidents). Called once per batch, never per event.
    /// </summary>
    void AdvanceClock(int source, DateTimeOffset eventTime)
    {
    }
}
