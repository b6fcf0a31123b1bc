namespace RuntimeSentinel.Detection.Models;

/// <summary>
/// Trains and calibrates one workload's models from its learning data. Used by the daemon when a workload finishes
/// learning and by <c>sentinel train</c>, so both produce the same model from the same events.
/// Each series' latest part (<see cref="ModelOptions.HeldBackFraction"/>) is held back: the models are trained on
/// the rest and every threshold is set from scores on the held-back part (<see cref="Calibration"/>).
/// </summary>
public static class ModelTrainer
{
    public static WorkloadModel? Build(
        string workload,
        string version,
        string source,
        ModelOptions o,
        double targetAlertsPerDay,
        IReadOnlyList<(float[] Vector, DateTimeOffset End)> windows,
        IReadOnlyList<(string? Exe, int[] Calls)> traces,
        IReadOnlyList<string> symbols,
        DateTimeOffset from,
        DateTimeOffset to,
        long events,
        Action<string>? progress = null)
    {
        var thresholds = new Dictionary<string, double>(StringComparer.Ordinal);
        var evaluation = new Dictionary<string, HeldBackFigures>(StringComparer.Ordinal);
        var windowsPerDay = TimeSpan.FromDays(1) / o.Window;

        // The first tenth of learning is dropped: every item is new then, which is not what normal looks like later.
        var usable = windows.Skip(windows.Count / 10).ToList();
        var split = (int)Math.Round(usable.Count * (1 - o.HeldBackFraction));
        var train = usable.Take(split).ToList();
        var held = usable.Skip(split).ToList();
        var detectors = 1 + BehaviourSchema.Series.Length + (traces.Count > 0 ? 1 : 0);
        var windowExceedance = Calibration.ExceedanceFor(targetAlertsPerDay, detectors, windowsPerDay);

        PcaDetector? pca = null;
        if (usable.Count >= o.MinWindows && held.Count >= Calibration.MinScores)
        {
            progress?.Invoke($"behaviour: RandomizedPca on {train.Count} windows");
            pca = PcaDetector.Train(train.Select(w => w.Vector).ToList(), BehaviourSchema.Features, o.PcaRank, 1);
            var scores = held.Select(w => pca.Score(w.Vector)).ToList();
            var t = Calibration.Threshold(scores, windowExceedance);

            // A perfectly regular workload scores ~0 everywhere; a floor keeps float noise from alerting.
            t = Math.Max(t, 1e-3);
            thresholds[WorkloadModel.BehaviourDetector] = t;
            evaluation[WorkloadModel.BehaviourDetector] = Figures(scores, t, windowsPerDay);
        }

        // Spikes: replay training windows into fresh detectors, then score the held-back windows in order.
        var history = new Dictionary<string, double[]>(StringComparer.Ordinal);
        if (held.Count >= Calibration.MinScores)
        {
            progress?.Invoke($"spikes: {BehaviourSchema.Series.Length} series over {usable.Count} windows");
            var runtime = new ModelRuntime(workload, o, targetAlertsPerDay);
            for (var k = 0; k < BehaviourSchema.Series.Length; k++)
            {
                var (feature, minScale) = BehaviourSchema.Series[k];
                var i = BehaviourSchema.Index(feature);
                var d = runtime.NewSpike(minScale);
                foreach (var w in train)
                {
                    d.Update(w.Vector[i], runtime.Bucket(w.End));
                }

                var zs = new List<double>();
                foreach (var w in held)
                {
                    var z = d.Score(w.Vector[i], runtime.Bucket(w.End), out _);
                    if (!double.IsNaN(z))
                    {
                        zs.Add(z);
                    }

                    d.Update(w.Vector[i], runtime.Bucket(w.End));
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
            if (scores.Count >= Calibration.MinScores)
            {
                // Opportunities: non-overlapping windows of held-back calls, scaled to a day of the learning rate.
                var heldCalls = totalCalls * o.HeldBackFraction;
                var span = Math.Max((to - from).TotalDays, 1.0 / 1440);
                var perDay = heldCalls / o.SequenceWindow / (span * o.HeldBackFraction);
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
            Training = new TrainingInfo(from, to, events, usable.Count, held.Count, totalCalls, traces.Count, source),
            WindowSeconds = o.Window.TotalSeconds,
            TargetAlertsPerDay = targetAlertsPerDay,
            Thresholds = thresholds,
            Evaluation = evaluation,
            ScalerMean = pca?.Scaler.Mean,
            ScalerScale = pca?.Scaler.Scale,
            PcaRank = pca?.Rank ?? 0,
            SpikeHistory = history,
            SequenceOrder = sequences?.Order ?? 0,
            SequenceWindow = sequences?.Window ?? 0,
            SequenceExecutables = sequences?.Executables.Order(StringComparer.Ordinal).ToArray() ?? [],
        };
        return new WorkloadModel(card, pca, sequences);
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
