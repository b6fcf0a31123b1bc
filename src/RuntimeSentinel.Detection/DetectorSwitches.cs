using RuntimeSentinel.Core.Workloads;

namespace RuntimeSentinel.Detection;

/// <summary>
/// Which detectors a workload runs: every registered baseline detector and model detector kind, less those
/// <see cref="DetectionOptions.DisabledDetectors"/> turns off everywhere and its <see cref="DetectionOptions.DetectorClasses"/>
/// turn off for it.
/// </summary>
internal static class DetectorSwitches
{
    /// <summary>Every name configuration may turn off: baseline detectors, then model detector kinds.</summary>
    public static IReadOnlyList<string> Known { get; } =
        [.. DetectorRegistry.Default.Names];

    /// <summary>The names turned off for <paramref name="key"/>.</summary>
    public static IReadOnlySet<string> Off(DetectionOptions options, WorkloadKey key)
    {
        var off = new HashSet<string>(options.DisabledDetectors, StringComparer.Ordinal);
        foreach (var c in options.DetectorClasses)
        {
            if (c.Matches(key))
            {
                off.UnionWith(c.Disabled);
            }
        }

        return off;
    }
}
