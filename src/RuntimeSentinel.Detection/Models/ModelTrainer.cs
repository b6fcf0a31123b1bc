namespace RuntimeSentinel.Detection.Models;

/// <summary>
/// Trains and calibrates one workload's models from its learning data. Used by the daemon when a workload finishes
/// learning and by <c>sentinel train</c>, so both produce the same model from the same events.
/// Every threshold is set from scores of data the scoring model did not learn from (<see cref="Calibration"/>):
/// behaviour windows by 5-fold cross-fitting over contiguous blocks, spike series prequentially (each window
/// scored before it joins the history), syscall sequences on the latest part of each process
/// (<see cref="ModelOptions.HeldBackFraction"/>).
/// </summary>
internal static class ModelTrainer
{
    private const int Folds = 5;

    public static WorkloadModel? Build(
        string workload,
        string version,
        string source,
        ModelOptions o,
        double targetAlertsPerDay,
        TrainingSet set,
        KnownItems? known = null,
        Action<string>? progress = null)
    {
        var (windows, traces, symbols, from, to, events) = (set.Windows, set.Traces, set.Symbols, set.From, set.To, set.Events);
        var thresholds = new Dictionary<string, double>(StringComparer.Ordinal);
        var evaluation = new Dictionary<string, HeldBackFigures>(StringComparer.Ordinal);
        var windowsPerDay = TimeSpan.FromDays(1) / o.Window;

        // The first tenth of learning is dropped: every item is new then, which is not what normal looks like later.
        var usable = windows.Skip(windows.Count / 10).ToList();
        var detectors = 1 + BehaviourSchema.Series.Length + (traces.Count > 0 ? 1 : 0);
        var windowExceedance = Calibration.ExceedanceFor(targetAlertsPerDay, detectors, windowsPerDay);

        PcaDetector? pca = null;
        if (usable.Count >= Math.Max(o.MinWindows, Calibration.MinScores))
        {
            // Every window is held back once: five contiguous blocks of the learning period, each scored by a model
            // trained on the other four. Short learning periods still give as many held-back scores as windows.
            progress?.Invoke($"behaviour: RandomizedPca, 5-fold held-back scores on {usable.Count} windows");
            var scores = new List<double>(usable.Count);
            for (var fold = 0; fold < Folds; fold++)
            {
                var (lo, hi) = (usable.Count * fold / Folds, usable.Count * (fold + 1) / Folds);
                var train = usable.Where((_, i) => i < lo || i >= hi).Select(w => w.Vector).ToList();
                var model = PcaDetector.Train(train, BehaviourSchema.Features, o.PcaRank, 1);
                scores.AddRange(usable.Skip(lo).Take(hi - lo).Select(w => model.Score(w.Vector)));
            }

            pca = PcaDetector.Train(usable.Select(w => w.Vector).ToList(), BehaviourSchema.Features, o.PcaRank, 1);

            // A perfectly regular workload scores ~0 everywhere; a floor keeps float noise from alerting.
            var t = Math.Max(Calibration.Threshold(scores, windowExceedance), 1e-3);
            thresholds[WorkloadModel.BehaviourDetector] = t;
            evaluation[WorkloadModel.BehaviourDetector] = Figures(scores, t, windowsPerDay);
        }

        // Spikes: each window is scored before it joins the detector's history (prequential), as live.
        var history = new Dictionary<string, double[]>(StringComparer.Ordinal);
        if (usable.Count >= Calibration.MinScores + 5)
        {
            progress?.Invoke($"spikes: {BehaviourSchema.Series.Length} series over {usable.Count} windows");
            for (var k = 0; k < BehaviourSchema.Series.Length; k++)
            {
                var (feature, minScale) = BehaviourSchema.Series[k];
                var i = BehaviourSchema.Index(feature);
                var d = SpikeSeries.NewDetector(o, minScale);
                var zs = new List<double>();
                foreach (var w in usable)
                {
                    var z = d.Score(w.Vector[i], WindowSchedule.Bucket(o, w.End), out _);
                    if (!double.IsNaN(z))
                    {
                        zs.Add(z);
                    }

                    d.Update(w.Vector[i], WindowSchedule.Bucket(o, w.End));
                }

                if (zs.Count >= Calibration.MinScores)
                {
                    var name = WorkloadModel.SpikePrefix + feature;
                    var t = Math.Max(o.MinSpikeZ, Calibration.Threshold(zs, windowExceedance));
                    thresholds[name] = t;
                    evaluation[name] = Figures(zs, t, windowsPerDay);
                }

                history[feature] = usable.TakeLast(120).Select(w => (double)w.Vector[i]).ToArray();
            }
        }

        SequenceModel? sequences = null;
        var totalCalls = traces.Sum(t => (long)t.Calls.Length);
        if (totalCalls >= 10L * o.SequenceWindow && symbols.Count > 0)
        {
            progress?.Invoke($"sequence: order-{o.SequenceOrder} n-gram on {totalCalls} calls of {traces.Count} processes");

            // Held back: the latest part of each process (its calls stay as context for scoring it).
            var trainParts = traces.Select(t => (t.Exe, t.Calls[..(int)(t.Calls.Length * (1 - o.HeldBackFraction))])).Where(t => t.Item2.Length > 0).ToList();
            var candidate = SequenceModel.Train(symbols, trainParts, o.SequenceOrder, o.SequenceWindow);
            var scores = traces.SelectMany(t => candidate.WindowScores(t.Exe, t.Calls, (int)(t.Calls.Length * (1 - o.HeldBackFraction)))).ToList();
            // Consecutive window scores overlap (each call starts a new window), so they are far from independent:
            // ten times the usual minimum, and every call counts as an opportunity to alert.
            if (scores.Count >= 10 * Calibration.MinScores)
            {
                var heldCalls = totalCalls * o.HeldBackFraction;
                var span = Math.Max((to - from).TotalDays, 1.0 / 86400);
                var perDay = heldCalls / (span * o.HeldBackFraction);
                var t = Calibration.Threshold(scores, Calibration.ExceedanceFor(targetAlertsPerDay, detectors, perDay));
                thresholds[WorkloadModel.SequenceDetector] = t;
                evaluation[WorkloadModel.SequenceDetector] = Figures(scores, t, perDay);

                // The model in service learns from all of it, held-back part included; the threshold stays.
                sequences = SequenceModel.Train(symbols, traces, o.SequenceOrder, o.SequenceWindow);
            }
        }

        if (thresholds.Count == 0)
        {
            return null;
        }

        var card = new ModelCard
        {
            Workload = workload,
            Version = version,
            Fingerprint = BehaviourSchema.Fingerprint,
            FeatureSchema = BehaviourSchema.Features,
            CreatedAt = to,
            Training = new TrainingInfo(from, to, events, usable.Count, evaluation.TryGetValue(WorkloadModel.BehaviourDetector, out var b) ? b.Scores : 0, totalCalls, traces.Count, source),
            WindowSeconds = o.Window.TotalSeconds,
            TargetAlertsPerDay = targetAlertsPerDay,
            Thresholds = thresholds,
            Evaluation = evaluation,
            ScalerMean = pca?.Scaler.Mean,
            ScalerScale = pca?.Scaler.Scale,
            PcaRank = pca?.Rank ?? 0,
            SpikeHistory = history,
            DriftReference = DriftReference.Build(usable.Select(w => w.Vector).ToList()),
            SequenceOrder = sequences?.Order ?? 0,
            SequenceWindow = sequences?.Window ?? 0,
            SequenceExecutables = sequences?.Executables.Order(StringComparer.Ordinal).ToArray() ?? [],
        };
        return new WorkloadModel(card, pca, sequences, known);
    }

    private static HeldBackFigures Figures(List<double> scores, double threshold, double perDay)
    {
        var sorted = scores.Order().ToArray();
        var exceeding = sorted.Count(s => s > threshold);
        return new HeldBackFigures(
            sorted.Length,
            sorted[sorted.Length / 2],
            sorted[Math.Min(sorted.Length - 1, (int)(0.99 * sorted.Length))],
            sorted[^1],
            threshold,
            exceeding,
            exceeding / (double)sorted.Length * perDay);
    }
}
