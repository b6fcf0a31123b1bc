using RuntimeSentinel.Detection.Baseline;
using RuntimeSentinel.Detection.Models;

namespace RuntimeSentinel.Detection;

/// <summary>Makes one workload's event detector from the options and the node's memory budget.</summary>
internal delegate IEventDetector EventDetectorFactory(DetectionOptions options, ModelMemoryBudget? memory);

/// <summary>
/// Every detector a workload can run, by name, one line each (<see cref="IDetector"/>). A workload's baseline builds its
/// event detectors from it in order (the order of their findings and of their checkpoint sections); a model put in
/// service gets the window and stream detectors of every kind the model has parts for (windows in order: the order an
/// alert's detectors and explanations are gathered in). <see cref="DetectionOptions.DisabledDetectors"/> and
/// <see cref="DetectionOptions.DetectorClasses"/> turn any of them off by these names (<see cref="DetectorSwitches"/>).
/// Adding a detector: one file implementing one of the three shapes, and one line below.
/// </summary>
internal sealed class DetectorRegistry
{
    public static DetectorRegistry Default { get; } = new DetectorRegistry([])
        // The baseline's signals, on each event.
        .Event(NoveltyDetector.DetectorName, (o, m) => new NoveltyDetector(o, m))
        .Event(ResourceDetector.DetectorName, (o, _) => new ResourceDetector(o))
        .Event(RunHistoryDetector.DetectorName, (o, _) => new RunHistoryDetector(o))
        .Event(PeerVolumeDetector.DetectorName, (o, m) => new PeerVolumeDetector(o, m))
        .Event(PeerRateDetector.DetectorName, (o, m) => new PeerRateDetector(o, m))
        .Event(FailedSessionsDetector.DetectorName, (o, m) => new FailedSessionsDetector(o, m))
        .Event(ActivityProfileDetector.DetectorName, (o, _) => new ActivityProfileDetector(o))
        // The models, on each closed behaviour window.
        .Window(WorkloadModel.BehaviourDetector, BehaviourWindowDetector.Create)
        .Window(SpikeSeries.Kind, SpikeSeries.Create)
        .Window(OnnxWindowDetector.Kind, OnnxWindowDetector.Create, OnnxWindowDetector.LoadPart)
        // The models, on each process's system calls.
        .Stream(WorkloadModel.SequenceDetector, SequenceStreams.Create);

    private readonly Entry[] _entries;

    private DetectorRegistry(Entry[] entries) => _entries = entries;

    /// <summary>Every registered name, in registration order: what configuration may turn off.</summary>
    public IEnumerable<string> Names => _entries.Select(e => e.Name);

    public IEnumerable<string> EventNames => _entries.Where(e => e.Event is not null).Select(e => e.Name);

    public IEnumerable<string> WindowNames => _entries.Where(e => e.Window is not null).Select(e => e.Name);

    public IEnumerable<string> StreamNames => _entries.Where(e => e.Stream is not null).Select(e => e.Name);

    /// <summary>The window kinds that load a part of their own, by name (the key of the card's <c>files</c>).</summary>
    public IEnumerable<(string Name, WindowPartLoader Load)> PartLoaders => _entries.Where(e => e.Load is not null).Select(e => (e.Name, e.Load!));

    /// <summary>This registry with one more detector of events, after the others (a registry is never changed in place).</summary>
    public DetectorRegistry Event(string name, EventDetectorFactory create) => With(new Entry(name) { Event = create });

    /// <summary>This registry with one more kind of window detectors, and the loader of its own model part if it brings one.</summary>
    public DetectorRegistry Window(string name, WindowDetectorFactory create, WindowPartLoader? load = null) => With(new Entry(name) { Window = create, Load = load });

    /// <summary>This registry with one more kind of stream detector.</summary>
    public DetectorRegistry Stream(string name, StreamDetectorFactory create) => With(new Entry(name) { Stream = create });

    /// <summary>A workload's event detectors, every registered one (a disabled one keeps its place, empty, in the checkpoint).</summary>
    public IEventDetector[] CreateEventDetectors(DetectionOptions options, ModelMemoryBudget? memory) =>
        [.. _entries.Where(e => e.Event is not null).Select(e => e.Event!(options, memory))];

    /// <summary>The window detectors of a model put in service, kind by kind in registration order, without the kinds turned <paramref name="off"/>.</summary>
    public IWindowDetector[] CreateWindowDetectors(ModelDetectorContext context, IReadOnlySet<string>? off = null) =>
        [.. _entries.Where(e => e.Window is not null && off?.Contains(e.Name) != true).SelectMany(e => e.Window!(context))];

    /// <summary>The stream detectors of a model put in service, without the kinds turned <paramref name="off"/>.</summary>
    public IStreamDetector[] CreateStreamDetectors(ModelDetectorContext context, IReadOnlySet<string>? off = null) =>
        [.. _entries.Where(e => e.Stream is not null && off?.Contains(e.Name) != true).Select(e => e.Stream!(context)).OfType<IStreamDetector>()];

    private DetectorRegistry With(Entry entry)
    {
        if (_entries.Any(e => e.Name == entry.Name))
        {
            throw new ArgumentException($"a detector named '{entry.Name}' is already registered", nameof(entry));
        }

        return new DetectorRegistry([.. _entries, entry]);
    }

    /// <summary>One registration: its name and the factory of its shape (exactly one is set).</summary>
    private sealed record Entry(string Name)
    {
        public EventDetectorFactory? Event { get; init; }

        public WindowDetectorFactory? Window { get; init; }

        public WindowPartLoader? Load { get; init; }

        public StreamDetectorFactory? Stream { get; init; }
    }
}
