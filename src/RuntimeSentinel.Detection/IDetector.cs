using RuntimeSentinel.Core.Alerts;

namespace RuntimeSentinel.Detection;

/// <summary>
/// What every detector of a workload is, whatever it judges: a <see cref="Name"/> (how configuration turns it off, and
/// how cards, thresholds, verdicts and alerts name it) and the alert <see cref="Categories"/> its <see cref="Finding"/>s
/// carry (from <see cref="AlertCategories"/>). Every detector is registered in <see cref="DetectorRegistry"/> by one line.
/// </summary>
/// <remarks>
/// What a detector judges decides which of three shapes it takes: <see cref="Baseline.IEventDetector"/> (each event: item
/// novelty, per-peer volumes, sessions, the day's profile, run history, resource statistics), <see cref="Models.IWindowDetector"/>
/// (a closed behaviour window: the PCA behaviour model, spike series, imported ONNX models) or
/// <see cref="Models.IStreamDetector"/> (a process's system calls as they come: the sequence model). A detector of windows
/// fed events would have to cut its own windows, and one of events fed windows would lose the item it alerts on; so the
/// shapes differ in their input only, and the host of each does everything else once, around the contract: the
/// baseline (<see cref="Baseline.WorkloadBaseline"/>) learning, phases, memory reservations, relearning and checkpoint
/// sections for event detectors; the model runtime (<see cref="Models.ModelRuntime"/>) training, calibration, shadow,
/// memory charging and hot swap for window and stream detectors. Either way their findings are one type, turned into
/// alerts by one <see cref="AlertFactory.Create"/>.
/// </remarks>
internal interface IDetector
{
    /// <summary>
    /// Its name: the registry's for a detector with one instance per workload; for a kind that serves several
    /// (<c>spike</c>: one per series) each instance's own (<c>spike:cpu_cores</c>).
    /// </summary>
    string Name { get; }

    /// <summary>The categories its findings carry, each from <see cref="AlertCategories"/>.</summary>
    IReadOnlyList<string> Categories { get; }
}
