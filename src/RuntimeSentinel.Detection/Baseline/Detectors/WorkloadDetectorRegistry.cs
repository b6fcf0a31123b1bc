namespace RuntimeSentinel.Detection.Baseline;

/// <summary>Makes one workload's detector from the options and the node's memory budget.</summary>
internal delegate IWorkloadDetector WorkloadDetectorFactory(DetectionOptions options, Models.ModelMemoryBudget? memory);

/// <summary>
/// The baseline detectors by name, in the order a workload's events reach them (so the order of their findings) and
/// their state is checkpointed. A workload's set is built from it; <see cref="DetectionOptions.DisabledDetectors"/>
/// names those that neither learn nor score. Adding a detector: one file implementing <see cref="IWorkloadDetector"/>
/// and one line below.
/// </summary>
internal sealed class WorkloadDetectorRegistry
{
    public static WorkloadDetectorRegistry Default { get; } = new WorkloadDetectorRegistry([])
        .With(NoveltyDetector.DetectorName, (o, m) => new NoveltyDetector(o, m))
        .With(ResourceDetector.DetectorName, (o, _) => new ResourceDetector(o))
        .With(RunHistoryDetector.DetectorName, (o, _) => new RunHistoryDetector(o))
        .With(PeerVolumeDetector.DetectorName, (o, m) => new PeerVolumeDetector(o, m))
        .With(PeerRateDetector.DetectorName, (o, m) => new PeerRateDetector(o, m))
        .With(FailedSessionsDetector.DetectorName, (o, m) => new FailedSessionsDetector(o, m))
        .With(ActivityProfileDetector.DetectorName, (o, _) => new ActivityProfileDetector(o));

    private readonly (string Name, WorkloadDetectorFactory Create)[] _entries;

    private WorkloadDetectorRegistry((string, WorkloadDetectorFactory)[] entries) => _entries = entries;

    public IEnumerable<string> Names => _entries.Select(e => e.Name);

    /// <summary>This registry with one more detector, after the others (a registry is never changed in place).</summary>
    public WorkloadDetectorRegistry With(string name, WorkloadDetectorFactory create)
    {
        if (_entries.Any(e => e.Name == name))
        {
            throw new ArgumentException($"a detector named '{name}' is already registered", nameof(name));
        }

        return new WorkloadDetectorRegistry([.. _entries, (name, create)]);
    }

    /// <summary>A workload's detectors, every registered one (a disabled one keeps its place, empty, in the checkpoint).</summary>
    public IWorkloadDetector[] Create(DetectionOptions options, Models.ModelMemoryBudget? memory)
    {
        var detectors = new IWorkloadDetector[_entries.Length];
        for (var i = 0; i < detectors.Length; i++)
        {
            detectors[i] = _entries[i].Create(options, memory);
        }

        return detectors;
    }
}
