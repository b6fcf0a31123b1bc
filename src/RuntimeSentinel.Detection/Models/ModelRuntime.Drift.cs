namespace RuntimeSentinel.Detection.Models;

/// <summary>Drift of the scored behaviour windows from the training ones (<see cref="DriftMonitor"/>), against the model in service.</summary>
public sealed partial class ModelRuntime
{
    private DriftMonitor? _drift;
    private DriftSummary _driftUnknown = DriftSummary.None;
    private long _driftReserved;

    /// <summary>The workload's drift as of its latest evaluation, or why it is unknown.</summary>
    public DriftSummary Drift => _drift?.Summary ?? _driftUnknown;

    /// <summary>Drift evaluations so far: a reader comparing it before and after each event sees every one.</summary>
    public long DriftEvaluations { get; private set; }

    private void ObserveDrift(DateTimeOffset end)
    {
        if (_drift?.Add(_vector, end) == true)
        {
            DriftEvaluations++;
        }
    }

    /// <summary>
    /// A model went in service (or none is): drift starts over against its card's reference, so promoting or swapping
    /// in a version clears an earlier suggestion to retrain. The previous histogram's memory goes back first.
    /// </summary>
    private void ResetDrift(ModelCard? card)
    {
        _budget.Release(_driftReserved);
        _driftReserved = 0;
        _drift = null;
        var o = _o.Drift;
        if (card is null)
        {
            _driftUnknown = DriftSummary.NotKnown(null, "no model in service", o.Threshold);
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
        else if (!_budget.TryReserve(DriftMonitor.BytesFor(reference, o)))
        {
            _budget.Refused(MemoryRefusal.Drift);
            unknown = "the model memory budget is spent (Detection:Models:MemoryBudgetMiB)";
        }
        else
        {
            _driftReserved = DriftMonitor.BytesFor(reference, o);
            _drift = new DriftMonitor(reference, o, card.Version);
        }

        _driftUnknown = DriftSummary.NotKnown(card.Version, unknown ?? "", o.Threshold);
    }
}
