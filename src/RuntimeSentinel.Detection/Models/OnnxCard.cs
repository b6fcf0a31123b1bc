using System.Text.Json;
using System.Text.Json.Serialization;

namespace RuntimeSentinel.Detection.Models;

/// <summary>
/// The card a data scientist imports an ONNX model with (<c>sentinel models import</c>), kept beside the model in the
/// version folder as <see cref="FileName"/>: which exported feature columns the model takes, in its input's order, and
/// the names of its input and output. Import adds what it measured (<see cref="BaselineMedian"/>,
/// <see cref="Sha256"/>). Read from outside, so every field is checked and a problem is one line naming it.
/// </summary>
public sealed record OnnxCard
{
    public const string SchemaId = "sentinel.onnx-card/v1";

    public const string FileName = "onnx-card.json";

    public const string ModelFileName = "model.onnx";

    public string Schema { get; init; } = SchemaId;

    /// <summary>Exported feature columns (<c>sentinel.features/v1</c>), in the order of the model's input.</summary>
    public string[] Features { get; init; } = [];

    /// <summary>The ONNX input: a float tensor [N, features].</summary>
    public string Input { get; init; } = "";

    /// <summary>The ONNX output: one float per row, higher is more anomalous.</summary>
    public string Output { get; init; } = "";

    /// <summary>The detector is named <c>onnx:&lt;name&gt;</c>: lower-case letters, digits, '-' and '_', at most 40.</summary>
    public string Name { get; init; } = "model";

    public string? Description { get; init; }

    public string? Author { get; init; }

    /// <summary>A threshold to use as is, instead of calibrating to the alert budget on held-back windows.</summary>
    public double? Threshold { get; init; }

    /// <summary>Calibrate to this quantile of the held-back scores instead of the alert budget (0 &lt; q &lt; 1).</summary>
    public double? Quantile { get; init; }

    /// <summary>Windows starting at or after this time were not used for fitting: import calibrates on those only.</summary>
    public DateTimeOffset? HeldBackFrom { get; init; }

    /// <summary>Set by import: each feature's median over the held-back windows, what explanations compare with.</summary>
    public double[]? BaselineMedian { get; init; }

    /// <summary>Set by import: SHA-256 of the model file, checked when the version is loaded.</summary>
    public string? Sha256 { get; init; }

    public static bool IsName(string name) =>
        name.Length is > 0 and <= 40 && name.All(c => char.IsAsciiLetterLower(c) || char.IsAsciiDigit(c) || c is '-' or '_');

    /// <summary>The schema index of each feature, in the card's order.</summary>
    internal int[] FeatureIndexes() => Features.Select(BehaviourSchema.Index).ToArray();

    private static readonly JsonSerializerOptions Strict = new(ModelCard.Json) { UnmappedMemberHandling = JsonUnmappedMemberHandling.Skip };

    /// <summary>Reads and checks a card; <see cref="ModelRejectedException"/> names the first problem.</summary>
    public static OnnxCard Parse(string json, string source)
    {
        OnnxCard? card;
        try
        {
            card = JsonSerializer.Deserialize<OnnxCard>(json, Strict);
        }
        catch (JsonException ex)
        {
            throw new ModelRejectedException($"{source}: not a card (JSON: {ex.Message})", ex);
        }

        if (card is null)
        {
            throw new ModelRejectedException($"{source}: empty card");
        }

        card.Check(source);
        return card;
    }

    private void Check(string source)
    {
        string? problem = null;
        if (Schema != SchemaId)
        {
            problem = $"schema '{Schema}' is not {SchemaId}";
        }
        else if (Features is null || Features.Length == 0)
        {
            problem = "'features' is missing: the exported feature columns the model takes, in its input's order";
        }
        else if (Features.FirstOrDefault(f => BehaviourSchema.Index(f) < 0) is { } unknown)
        {
            problem = $"feature '{unknown}' is not a feature column of sentinel.features/v1 (these are: {string.Join(", ", BehaviourSchema.Features)})";
        }
        else if (Features.GroupBy(f => f).FirstOrDefault(g => g.Count() > 1) is { } twice)
        {
            problem = $"feature '{twice.Key}' is listed twice";
        }
        else if (string.IsNullOrWhiteSpace(Input))
        {
            problem = "'input' is missing: the name of the model's float input [N, features]";
        }
        else if (string.IsNullOrWhiteSpace(Output))
        {
            problem = "'output' is missing: the name of the model's output, one float per row";
        }
        else if (!IsName(Name))
        {
            problem = $"name '{Name}' is not 1 to 40 lower-case letters, digits, '-' or '_'";
        }
        else if (Threshold is { } t && !double.IsFinite(t))
        {
            problem = "'threshold' is not a finite number";
        }
        else if (Quantile is { } q && !(q > 0 && q < 1))
        {
            problem = $"'quantile' {q} is not between 0 and 1";
        }
        else if (BaselineMedian is { } m && (m.Length != Features.Length || !m.All(double.IsFinite)))
        {
            problem = $"'baseline_median' does not hold one finite value per feature ({Features.Length})";
        }

        if (problem is not null)
        {
            throw new ModelRejectedException($"{source}: {problem}");
        }
    }

    public string ToJson() => JsonSerializer.Serialize(this, ModelCard.Json);
}
