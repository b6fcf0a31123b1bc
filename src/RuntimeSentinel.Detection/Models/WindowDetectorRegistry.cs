namespace RuntimeSentinel.Detection.Models;

/// <summary>What a window detector is made from: the model put in service and the options it runs under.</summary>
internal readonly record struct WindowDetectorContext(WorkloadModel Model, ModelOptions Options);

/// <summary>Makes a kind's detectors for a model put in service: none when the model has no part of that kind.</summary>
internal delegate IEnumerable<IWindowDetector> WindowDetectorFactory(WindowDetectorContext context);

/// <summary>
/// Loads a kind's own part from a version folder (<paramref name="file"/> is the path of the card's <c>files</c> entry under the
/// kind's name, already checked to lie inside the folder). Throws <see cref="ModelRejectedException"/> for anything
/// it cannot serve.
/// </summary>
internal delegate IWindowModelPart WindowPartLoader(string directory, string file, ModelCard card);

/// <summary>
/// A part of a model version that a window detector kind brings itself (an imported ONNX graph), kept in
/// <see cref="WorkloadModel.Parts"/> under the kind's name: saved with the version (and in checkpoints), charged to
/// the node's model budget with the rest of the model.
/// </summary>
internal interface IWindowModelPart
{
    /// <summary>What it holds in service, charged to the node's model budget.</summary>
    long EstimatedBytes { get; }

    /// <summary>Writes its files into a version folder; returns the file name the card lists under the kind's name.</summary>
    string Save(string directory);
}

/// <summary>
/// The window detectors by name, in the order their scores are gathered when a window closes (so the order of an
/// alert's detectors and explanations among equal ratios). A model put in service gets every kind's detectors the
/// model has parts for. Adding a detector of behaviour windows: one file implementing <see cref="IWindowDetector"/>
/// with a factory (and, when it brings its own part, a loader) and one line below.
/// </summary>
internal sealed class WindowDetectorRegistry
{
    public static WindowDetectorRegistry Default { get; } = new WindowDetectorRegistry([])
        .With(WorkloadModel.BehaviourDetector, BehaviourWindowDetector.Create)
        .With(SpikeSeries.Kind, SpikeSeries.Create)
        .With(OnnxWindowDetector.Kind, OnnxWindowDetector.Create, OnnxWindowDetector.LoadPart);

    private readonly (string Name, WindowDetectorFactory Create, WindowPartLoader? Load)[] _entries;

    private WindowDetectorRegistry((string, WindowDetectorFactory, WindowPartLoader?)[] entries) => _entries = entries;

    public IEnumerable<string> Names => _entries.Select(e => e.Name);

    /// <summary>The kinds that load a part of their own, by name (the key of the card's <c>files</c>).</summary>
    public IEnumerable<(string Name, WindowPartLoader Load)> PartLoaders => _entries.Where(e => e.Load is not null).Select(e => (e.Name, e.Load!));

    /// <summary>This registry with one more kind, after the others (a registry is never changed in place).</summary>
    public WindowDetectorRegistry With(string name, WindowDetectorFactory create, WindowPartLoader? load = null)
    {
        if (_entries.Any(e => e.Name == name))
        {
            throw new ArgumentException($"a window detector named '{name}' is already registered", nameof(name));
        }

        return new WindowDetectorRegistry([.. _entries, (name, create, load)]);
    }

    /// <summary>The detectors of a model put in service, kind by kind in registration order, without the kinds turned <paramref name="off"/>.</summary>
    public IWindowDetector[] Create(WorkloadModel model, ModelOptions options, IReadOnlySet<string>? off = null)
    {
        var context = new WindowDetectorContext(model, options);
        var all = new List<IWindowDetector>();
        foreach (var e in _entries)
        {
            if (off?.Contains(e.Name) != true)
            {
                all.AddRange(e.Create(context));
            }
        }

        return [.. all];
    }
}
