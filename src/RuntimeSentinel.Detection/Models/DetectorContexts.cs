namespace RuntimeSentinel.Detection.Models;

/// <summary>What a model detector is made from: the model put in service, the options it runs under and the node's model budget.</summary>
internal readonly record struct ModelDetectorContext(WorkloadModel Model, ModelOptions Options, ModelMemoryBudget Budget);

/// <summary>Makes a kind's window detectors for a model put in service: none when the model has no part of that kind.</summary>
internal delegate IEnumerable<IWindowDetector> WindowDetectorFactory(ModelDetectorContext context);

/// <summary>Makes a kind's stream detector for a model put in service: null when the model has no part of that kind.</summary>
internal delegate IStreamDetector? StreamDetectorFactory(ModelDetectorContext context);

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
