using RuntimeSentinel.Core.Alerts;

namespace RuntimeSentinel.Detection.Baseline;

/// <summary>
/// What observing one event changed in a baseline (items learned, items a cap refused, the phase before and after),
/// returned to the caller to count and log: the baseline calls nobody back.
/// </summary>
public struct BaselineChanges(BaselinePhase from)
{
    private FeatureCounts _learned;
    private FeatureCounts _exceeded;

    public BaselinePhase From { get; } = from;

    public BaselinePhase To { get; internal set; } = from;

    public readonly bool PhaseChanged => From != To;

    /// <summary>Whether anything was learned or refused (the common steady-state event changes nothing).</summary>
    public bool Any { readonly get; private set; }

    public readonly int Learned(Feature f) => _learned[(int)f];

    public readonly int Exceeded(Feature f) => _exceeded[(int)f];

    internal void ItemLearned(Feature f)
    {
        _learned[(int)f]++;
        Any = true;
    }

    internal void CapacityExceeded(Feature f)
    {
        _exceeded[(int)f]++;
        Any = true;
    }

    [System.Runtime.CompilerServices.InlineArray(16)]
    private struct FeatureCounts
    {
        private byte _first;
    }
}
