using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using RuntimeSentinel.Detection.Sequences;
using RuntimeSentinel.Lab.Evaluation;
using RuntimeSentinel.Lab.Recordings;
using RuntimeSentinel.Lab.Sequences;

namespace RuntimeSentinel.Daemon.Cli;

/// <summary>
/// <c>sentinel evaluate adfa-ld --data DIR [--json]</c>: the usual ADFA-LD protocol. The syscall-sequence model is
/// trained on Training_Data_Master only; every Validation (normal) and Attack trace is scored by its mean surprisal
/// per call. The n-gram order is chosen by 5-fold cross-validated surprisal on the training traces, and the
/// operating threshold is the 95th percentile of cross-fitted training scores: both from normal data only, never
/// from attack traces.
/// </summary>
internal static class AdfaLdEvaluation
{
    private static readonly int[] Orders = [3, 4, 5, 6];

    public static async Task<int> RunAsync(string dataDir, bool json, TextWriter stdout, TextWriter stderr, string modelKind = "ngram", int epochs = 30, int hidden = 200)
    {
        var zip = Path.Combine(dataDir, "ADFA-LD-traces.zip");
        var manifest = Path.Combine(dataDir, "manifest.csv");
        if (!File.Exists(zip) || !File.Exists(manifest))
        {
            await stderr.WriteLineAsync($"evaluate: {dataDir} must hold ADFA-LD-traces.zip and manifest.csv");
            return 2;
        }

        var traces = AdfaLdTraces.Read(zip).ToList();
        var expected = File.ReadLines(manifest).Skip(1).Count(l => l.Length > 0);
        if (traces.Count != expected)
        {
            await stderr.WriteLineAsync($"evaluate: the archive holds {traces.Count} traces, the manifest lists {expected}");
            return 2;
        }

        var training = traces.Where(t => t.Split == AdfaLdTraces.Training).Select(t => t.Calls).ToList();
        var normal = traces.Where(t => t.Split == AdfaLdTraces.Validation).Select(t => t.Calls).ToList();
        var attack = traces.Where(t => t.IsAttack).Select(t => t.Calls).ToList();
        var families = traces.Where(t => t.IsAttack).Select(t => t.Family ?? "?").ToList();
        List<double> attackScores;

        DetectionQuality quality;
        double threshold;
        string description;
        if (modelKind == "lstm")
        {
            // The neural model: fixed hyper-parameters (no attack data involved), threshold at the 95th percentile
            // of the training traces' own scores (in-sample, so slightly low: cross-fitting five LSTMs is too slow).
            var bar = ProgressBar.Create("training LSTM", epochs);
            var options = new LstmOptions { Hidden = hidden, Embedding = 48, Epochs = epochs, LearningRate = 0.004f };
            var lstm = LstmLanguageModel.Train(training, options, (epoch, loss) => bar.Report(epoch, $"{loss:0.000} bits/call"));
            bar.Done();
            var scoring = ProgressBar.Create("scoring", normal.Count + attack.Count);
            var done = 0;
            double Score(int[] t)
            {
                var s = lstm.Score(t);
                scoring.Report(Interlocked.Increment(ref done));
                return s;
            }

            var normalScores = normal.AsParallel().AsOrdered().Select(Score).ToList();
            attackScores = attack.AsParallel().AsOrdered().Select(Score).ToList();
            scoring.Done();
            threshold = Percentile(training.AsParallel().AsOrdered().Select(t => lstm.Score(t)).ToList(), 0.95);
            quality = new DetectionQuality(normalScores, attackScores);
            description = $"lstm hidden={hidden} embedding=48 epochs={epochs} seed={options.Seed}, mean surprisal per call";
        }
        else
        {
            // Model selection on training normals only: held-out cross-entropy per order.
            var cv = Orders.ToDictionary(n => n, n => CrossFitted(training, n).Average());
            var order = cv.MinBy(kv => kv.Value).Key;
            await stderr.WriteLineAsync($"order chosen by 5-fold CV on {training.Count} training traces: n={order} ({string.Join(", ", cv.Select(kv => $"n={kv.Key}: {kv.Value:0.000} bits"))})");
            threshold = Percentile(CrossFitted(training, order), 0.95);
            var model = new NgramModel(order);
            model.Train(training);
            attackScores = attack.Select(model.MeanSurprisal).ToList();
            quality = new DetectionQuality(normal.Select(model.MeanSurprisal), attackScores);
            description = $"ngram n={order} absolute discounting, mean surprisal per call";
        }

        var result = quality.Summary();
        result["model"] = description;
        result["threshold"] = Math.Round(threshold, 4);
        result["confusion"] = quality.ConfusionMap(threshold);

        // Detection per attack family at the same threshold, the way the literature reports ADFA-LD.
        result["detected_by_family"] = families.Zip(attackScores)
            .GroupBy(p => p.First, StringComparer.Ordinal)
            .OrderBy(g => g.Key, StringComparer.Ordinal)
            .ToDictionary(g => g.Key, g => $"{g.Count(p => p.Second >= threshold)}/{g.Count()}");
        if (json)
        {
            await stdout.WriteLineAsync(JsonSerializer.Serialize(result));
        }
        else
        {
            foreach (var (k, v) in result)
            {
                await stdout.WriteLineAsync(string.Create(CultureInfo.InvariantCulture, $"{k,-14} {(v switch { Dictionary<string, int> d => string.Join(" ", d.Select(x => $"{x.Key}={x.Value}")), Dictionary<string, string> s => string.Join(" ", s.Select(x => $"{x.Key}={x.Value}")), _ => v })}"));
            }
        }

        return 0;
    }

    /// <summary>Scores of each training trace by a model trained on the other folds (5 folds).</summary>
    private static List<double> CrossFitted(List<int[]> training, int order)
    {
        var scores = new List<double>(training.Count);
        for (var fold = 0; fold < 5; fold++)
        {
            var model = new NgramModel(order);
            model.Train(training.Where((_, i) => i % 5 != fold));
            scores.AddRange(training.Where((_, i) => i % 5 == fold).Select(model.MeanSurprisal));
        }

        return scores;
    }

    private static double Percentile(List<double> values, double p)
    {
        var sorted = values.Order().ToList();
        return sorted[Math.Min(sorted.Count - 1, (int)Math.Ceiling(p * sorted.Count) - 1)];
    }

    /// <summary>sentinel evaluate adfa-ld: the sequence model on ADFA-LD.</summary>
    public static Command Create(CliOptions cli)
    {
        var dataOption = new Option<string>("--data") { Description = "Folder holding ADFA-LD-traces.zip and manifest.csv.", Required = true };
        var sequenceModelOption = new Option<string>("--model") { Description = "Sequence model: ngram (default) or lstm (neural, slower).", DefaultValueFactory = _ => "ngram" };
        sequenceModelOption.AcceptOnlyFromAmong("ngram", "lstm");
        var epochsOption = new Option<int>("--epochs") { Description = "LSTM training epochs.", DefaultValueFactory = _ => 30 };
        var hiddenOption = new Option<int>("--hidden") { Description = "LSTM hidden units.", DefaultValueFactory = _ => 200 };
        var adfa = new Command("adfa-ld", "Train the syscall-sequence model on ADFA-LD training traces; score validation and attack traces.")
        {
            dataOption, cli.Json, sequenceModelOption, epochsOption, hiddenOption,
        };
        adfa.SetAction((parse, _) => AdfaLdEvaluation.RunAsync(parse.GetValue(dataOption)!, parse.GetValue(cli.Json), Console.Out, Console.Error, parse.GetValue(sequenceModelOption)!, parse.GetValue(epochsOption), parse.GetValue(hiddenOption)));
        return adfa;
    }
}
