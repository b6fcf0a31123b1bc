namespace RuntimeSentinel.Detection.Models;

/// <summary>
/// One workload's drift against the model in service: a <see cref="DriftMonitor"/> over its card's reference
/// histograms while one can be kept, otherwise why drift is unknown. Its memory is reserved from the workload's model
/// budget and given back whenever the model in service changes.
/// </summary>
internal sealed class WorkloadDrift(ModelOptions options, ModelMemoryBudget budget)
{
    private DriftMonitor? _monitor;
    private DriftSummary _unknown = DriftSummary.None;

    /// <summary>The drift as of the latest evaluation, or why it is unknown.</summary>
    public DriftSummary Summary => _monitor?.Summary ?? _unknown;

    /// <summary>Evaluations so far: a reader comparing it before and after each event sees every one.</summary>
    public long Evaluations { get; private set; }

    public long ReservedBytes { get; private set; }

    /// <summary>A scored window closed at <paramref name="end"/>.</summary>
    public void Observe(ReadOnlySpan<float> window, DateTimeOffset end)
    {
        if (_monitor?.Add(window, end) == true)
        {
            Evaluations++;
        }
    }

    /// <summary>
    /// A model went in service (or none is): drift starts over against its card's reference, so promoting or swapping
    /// in a version clears an earlier suggestion to retrain. The previous histogram's memory goes back first.
    /// </summary>
    public void Reset(ModelCard? card)
    {
        budget.Release(ReservedBytes);
        ReservedBytes = 0;
        _monitor = null;
        var o = options.Drift;
        if (card is null)
        {
            _unknown = DriftSummary.NotKnown(null, "no model in service", o.Threshold);
            return;
        }

        string? unknown = null;
        if (!o.Enabled)
        {
            unknown = "drift is not tracked (Detection:Models:Drift:Enabled is false)";
        }
        else if (card.DriftReference is not { } reference)
        {
            unknown = "the model card has no reference histograms (trained before drift was recorded): retrain to track drift";
        }
        else if (reference.Problem() is { } problem)
        {
            unknown = "the model card's reference histograms are unusable: " + problem;
        }
        else if (!budget.TryReserve(DriftMonitor.BytesFor(reference, o)))
        {
            budget.Refused(MemoryRefusal.Drift);
            unknown = "the model memory budget is spent (Detection:Models:MemoryBudgetMiB)";
        }
        else
        {
            ReservedBytes = DriftMonitor.BytesFor(reference, o);
            _monitor = new DriftMonitor(reference, o, card.Version);
        }

        _unknown = DriftSummary.NotKnown(card.Version, unknown ?? "", o.Threshold);
    }
}
