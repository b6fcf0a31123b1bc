using RuntimeSentinel.Core.Alerts;

namespace RuntimeSentinel.Detection.Models;

/// <summary>
/// A data scientist's model, imported as ONNX (<c>sentinel models import</c>), scoring each closed behaviour window:
/// the card's features picked from the window vector, in the model input's order, one float out (higher is more
/// anomalous). Its threshold is calibrated at import on held-back windows, recorded in shadow and recalibrated like
/// the others. It does not learn online. Explanations are by occlusion: each feature in turn set to its held-back
/// median, the drop in the model's score is its share.
/// </summary>
internal sealed class OnnxWindowDetector : IWindowDetector
{
    /// <summary>The registry name, and the key of the model file in the card's <c>files</c>.</summary>
    public const string Kind = "onnx";

    private readonly OnnxWindowModel _model;
    private readonly OnnxScorer _scorer;
    private readonly float[] _occluded;

    private OnnxWindowDetector(OnnxWindowModel model)
    {
        _model = model;
        _scorer = model.CreateScorer();
        _occluded = new float[model.Indexes.Length];
        Name = WorkloadModel.OnnxPrefix + model.Card.Name;
    }

    public string Name { get; }

    public long MemoryBytes => _model.EstimatedBytes;

    public string Category => AlertCategories.BehaviourAnomaly;

    /// <summary>The registry's factory: a detector (with its own prediction engine) when the version has an imported model.</summary>
    public static IEnumerable<IWindowDetector> Create(ModelDetectorContext context) =>
        context.Model.Parts.TryGetValue(Kind, out var part) && part is OnnxWindowModel model ? [new OnnxWindowDetector(model)] : [];

    /// <summary>The registry's loader: the model file with its card (<see cref="OnnxCard.FileName"/>) beside it.</summary>
    public static IWindowModelPart LoadPart(string directory, string file, ModelCard card)
    {
        var cardPath = WorkloadModel.PartPath(directory, OnnxCard.FileName);
        string json;
        try
        {
            json = File.ReadAllText(cardPath);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new ModelRejectedException($"{cardPath}: cannot read the ONNX card ({ex.Message})", ex);
        }

        var onnx = OnnxCard.Parse(json, cardPath);
        if (onnx.BaselineMedian is null || !card.Thresholds.ContainsKey(WorkloadModel.OnnxPrefix + onnx.Name))
        {
            throw new ModelRejectedException($"{directory}: the imported model has no calibrated threshold or baseline; import it with 'sentinel models import'");
        }

        return OnnxWindowModel.Load(file, onnx, expectSha256: true);
    }

    public string Describe(double score, double threshold) =>
        $"behaviour window unlike the baseline for the imported model {_model.Card.Name} (score {score:0.###} > calibrated {threshold:0.###})";

    public double Score(ReadOnlySpan<float> window, long bucket)
    {
        var s = _scorer.Score(window, _model.Indexes);
        return double.IsFinite(s) ? s : double.NaN;
    }

    public IReadOnlyList<FeatureContribution> Explain(ReadOnlySpan<float> window, long bucket, int top)
    {
        var indexes = _model.Indexes;
        var median = _model.Card.BaselineMedian!;
        for (var i = 0; i < indexes.Length; i++)
        {
            _occluded[i] = window[indexes[i]];
        }

        var full = _scorer.Score(_occluded);
        if (!double.IsFinite(full))
        {
            return [];
        }

        var drops = new double[indexes.Length];
        for (var i = 0; i < indexes.Length; i++)
        {
            var kept = _occluded[i];
            _occluded[i] = (float)median[i];
            var s = _scorer.Score(_occluded);
            drops[i] = double.IsFinite(s) ? Math.Max(0, full - s) : 0;
            _occluded[i] = kept;
        }

        var total = drops.Sum();
        if (total <= 0)
        {
            // No single feature moves the score back (only their combination does): the distance from the median instead.
            for (var i = 0; i < indexes.Length; i++)
            {
                drops[i] = Math.Abs(window[indexes[i]] - median[i]);
            }

            total = drops.Sum();
        }

        var values = window.ToArray();
        return Enumerable.Range(0, indexes.Length)
            .Where(i => drops[i] > 0)
            .OrderByDescending(i => drops[i])
            .Take(top)
            .Select(i => new FeatureContribution(
                _model.Card.Features[i], BehaviourWindow.Unscale(indexes[i], values[indexes[i]]), BehaviourWindow.Unscale(indexes[i], median[i]), drops[i] / total))
            .ToList();
    }

    public void Learn(ReadOnlySpan<float> window, long bucket, double score, double threshold)
    {
        // Fitted offline by its author; calibrated at import and recalibrated after shadow, never trained here.
    }
}
