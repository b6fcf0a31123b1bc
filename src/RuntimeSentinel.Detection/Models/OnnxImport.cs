namespace RuntimeSentinel.Detection.Models;

/// <summary>A behaviour window to calibrate an imported model on: when it started, its vector (schema order) and its label.</summary>
public readonly record struct CalibrationWindow(DateTimeOffset Start, float[] Vector, int? Label);

/// <summary>What an import made: the version, its folder, the detector and its calibration.</summary>
public sealed record ImportedModel(string Workload, string Version, string Path, string Detector, double Threshold, HeldBackFigures HeldBack, long ChargedBytes, string Calibration);

/// <summary>
/// <c>sentinel models import</c>: an ONNX model and its card become a model version like a trained one
/// (<c>model.json</c> with the detector's calibrated threshold and held-back figures, <c>model.onnx</c>,
/// <c>onnx-card.json</c>), after every check the daemon makes when it loads one, so that a version that imports is a
/// version the daemon serves. Nothing is written until every check passed; the folder appears whole (written aside,
/// then renamed), and a refused import leaves the store as it was.
/// </summary>
public static class OnnxImport
{
    /// <param name="windows">The workload's exported windows; those labelled attack (1) never calibrate, nor those before the card's <c>held_back_from</c>.</param>
    /// <param name="budgetBytes">The node's model memory budget (<c>Detection:Models:MemoryBudgetMiB</c>): a model that cannot fit in it alone is refused.</param>
    /// <exception cref="ModelRejectedException">The first problem, in one line.</exception>
    public static ImportedModel Import(ModelStore store, string workload, string onnxPath, OnnxCard card, IReadOnlyList<CalibrationWindow> windows, double windowSeconds, double targetAlertsPerDay, long budgetBytes, DateTimeOffset now)
    {
        if (!Core.Workloads.WorkloadKey.TryParse(workload, out _))
        {
            throw new ModelRejectedException($"'{workload}' is not a workload key (cluster/namespace/Kind/name/container)");
        }

        if (!File.Exists(onnxPath))
        {
            throw new ModelRejectedException($"{onnxPath}: no such model file");
        }

        // The budget first: a model that cannot be held is not worth loading (nor loading it into this process).
        var charged = OnnxWindowModel.EstimateFor(new FileInfo(onnxPath).Length) + ModelRuntime.LiveBaseBytes + 4096;
        if (charged > budgetBytes)
        {
            throw new ModelRejectedException(
                $"{onnxPath}: too big for the node's model memory budget: in service it is charged {charged / 1048576.0:0.#} MiB ({OnnxWindowModel.BytesPerFileByte} × the file + {OnnxWindowModel.FixedBytes / 1024} KiB), the budget (Detection:Models:MemoryBudgetMiB) is {budgetBytes / 1048576.0:0.#} MiB");
        }

        var model = OnnxWindowModel.Load(onnxPath, card, expectSha256: false);
        var heldBack = windows.Where(w => w.Label != 1 && (card.HeldBackFrom is not { } from || w.Start >= from)).ToList();
        if (heldBack.Count < Calibration.MinScores)
        {
            throw new ModelRejectedException(
                $"{heldBack.Count} held-back normal windows of {workload} in the export{(card.HeldBackFrom is { } f ? $" from {f:u} (the card's held_back_from)" : "")}; at least {Calibration.MinScores} are needed to calibrate");
        }

        var scores = new List<double>(heldBack.Count);
        var scorer = model.CreateScorer();
        foreach (var w in heldBack)
        {
            scores.Add(scorer.Score(w.Vector, model.Indexes));
        }

        var bad = scores.Count(s => !double.IsFinite(s));
        if (bad > 0)
        {
            throw new ModelRejectedException($"{onnxPath}: the model's output is NaN or infinite on {bad} of {scores.Count} held-back windows");
        }

        var detector = WorkloadModel.OnnxPrefix + card.Name;
        var windowsPerDay = TimeSpan.FromDays(1).TotalSeconds / windowSeconds;
        string how;
        double threshold;
        if (card.Threshold is { } fixedThreshold)
        {
            threshold = fixedThreshold;
            how = "the card's threshold";
        }
        else if (card.Quantile is { } q)
        {
            var sorted = scores.Order().ToArray();
            threshold = sorted[Math.Clamp((int)Math.Ceiling(q * sorted.Length) - 1, 0, sorted.Length - 1)];
            how = $"quantile {q} of the held-back scores";
        }
        else
        {
            // As the behaviour PCA: the workload's alert budget is this detector's alone (an imported version has no other window detector).
            threshold = Calibration.Threshold(scores, Calibration.ExceedanceFor(targetAlertsPerDay, 1, windowsPerDay));
            how = $"{targetAlertsPerDay} alerts per day";
        }

        var figures = Figures(scores, threshold, windowsPerDay);
        var medians = Enumerable.Range(0, card.Features.Length).Select(i => Median(heldBack.Select(w => (double)w.Vector[model.Indexes[i]]))).ToArray();
        var version = store.NextVersion(workload);
        var modelCard = new ModelCard
        {
            Workload = workload,
            Version = version,
            Fingerprint = BehaviourSchema.Fingerprint,
            FeatureSchema = BehaviourSchema.Features,
            CreatedAt = now,
            Training = new TrainingInfo(heldBack.Min(w => w.Start), heldBack.Max(w => w.Start), 0, heldBack.Count, heldBack.Count, 0, 0, "import:" + Path.GetFileName(onnxPath) + (card.Author is { } a ? " by " + a : "")),
            WindowSeconds = windowSeconds,
            TargetAlertsPerDay = targetAlertsPerDay,
            Thresholds = new Dictionary<string, double>(StringComparer.Ordinal) { [detector] = threshold },
            Evaluation = new Dictionary<string, HeldBackFigures>(StringComparer.Ordinal) { [detector] = figures },
        };
        var parts = new Dictionary<string, IWindowModelPart>(StringComparer.Ordinal) { [OnnxWindowDetector.Kind] = model.WithCard(model.Card with { BaselineMedian = medians }) };
        var imported = new WorkloadModel(modelCard, null, null, null, parts);

        // Written aside and renamed: a reader (a daemon's watcher, models list) never sees half a version.
        var path = store.VersionPath(workload, version);
        var aside = System.IO.Path.Combine(store.WorkloadPath(workload), "." + version + ".importing");
        try
        {
            if (Directory.Exists(aside))
            {
                Directory.Delete(aside, recursive: true);
            }

            imported.Save(aside);
            WorkloadModel.Load(aside); // what the daemon will do, on what was written
            Directory.Move(aside, path);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or ModelRejectedException)
        {
            if (Directory.Exists(aside))
            {
                Directory.Delete(aside, recursive: true);
            }

            throw ex as ModelRejectedException ?? new ModelRejectedException($"{path}: cannot write the version ({ex.Message})", ex);
        }

        return new ImportedModel(workload, version, path, detector, threshold, figures, imported.EstimatedBytes + ModelRuntime.LiveBaseBytes, how);
    }

    private static double Median(IEnumerable<double> values)
    {
        var s = values.Order().ToArray();
        return s.Length % 2 == 1 ? s[s.Length / 2] : (s[(s.Length / 2) - 1] + s[s.Length / 2]) / 2;
    }

    private static HeldBackFigures Figures(List<double> scores, double threshold, double perDay)
    {
        var sorted = scores.Order().ToArray();
        var exceeding = sorted.Count(s => s > threshold);
        return new HeldBackFigures(sorted.Length, sorted[sorted.Length / 2], sorted[Math.Min(sorted.Length - 1, (int)(0.99 * sorted.Length))], sorted[^1], threshold, exceeding, exceeding / (double)sorted.Length * perDay);
    }
}
