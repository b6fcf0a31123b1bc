using RuntimeSentinel.Core.Events;
using RuntimeSentinel.Core.Workloads;

namespace RuntimeSentinel.Lab.Export;

/// <summary>
/// The <c>scenario</c> and <c>label</c> of an exported row from the labels its events carry: 1 when one of them has
/// the label key with the attack prefix (the scenario is the first such value), 0 when they carry the key otherwise
/// (the first value), null when none carries it. A labels file, when given, decides instead (from the row's span).
/// </summary>
internal sealed class WindowLabels(string key, string positivePrefix)
{
    public string? Scenario { get; private set; }

    public int? Label { get; private set; }

    public void Clear() => (Scenario, Label) = (null, null);

    public void Add(in RuntimeEvent e)
    {
        if (e.Labels[key] is not { } value)
        {
            return;
        }

        if (Label != 1 && value.StartsWith(positivePrefix, StringComparison.Ordinal))
        {
            (Scenario, Label) = (value, 1);
        }
        else if (Label is null)
        {
            (Scenario, Label) = (value, 0);
        }
    }

    /// <summary>The row's scenario and label: the labels file's verdict on its span when given, else the events'.</summary>
    public (string? Scenario, int? Label) For(WorkloadKey workload, DateTimeOffset start, DateTimeOffset end, Func<WorkloadKey, DateTimeOffset, DateTimeOffset, (string? Scenario, int Label)>? truth)
    {
        if (truth is null)
        {
            return (Scenario, Label);
        }

        var (scenario, label) = truth(workload, start, end);
        return (scenario, label);
    }
}
