using System.Text.Json;
using RuntimeSentinel.Detection.Models;

namespace RuntimeSentinel.Detection.Tests;

/// <summary>The population stability index, the card's reference histograms, and the per-workload rolling histogram.</summary>
public class DriftTests
{
    private static readonly DateTimeOffset Start = new(2026, 3, 1, 0, 0, 0, TimeSpan.Zero);
    private static readonly int BytesOut = BehaviourSchema.Index("bytes_out");

    [Fact]
    public void Index_TwoBins_IsTheHandComputedValue()
    {
        // Training 50/50, recent 8 of 10 in the first bin: (0.8 − 0.5)·ln(0.8/0.5) + (0.2 − 0.5)·ln(0.2/0.5).
        var psi = PopulationStability.Index([0.5, 0.5], [8, 2], 10);

        Assert.Equal((0.3 * Math.Log(1.6)) + (0.3 * Math.Log(2.5)), psi, 12);
        Assert.Equal(0.415888, psi, 6);
    }

    [Fact]
    public void Index_SameShares_IsZero()
    {
        Assert.Equal(0, PopulationStability.Index([0.1, 0.2, 0.3, 0.4], [0.1, 0.2, 0.3, 0.4]), 15);
        Assert.Equal(0, PopulationStability.Index([0, 0.25, 0.75, 0], [0, 25, 75, 0], 100), 15);
    }

    [Fact]
    public void Index_AnEmptiedBin_IsFlooredAtEpsilonNotInfinite()
    {
        // The 10 % bin is empty in the recent windows: its share counts as 10⁻⁴.
        var psi = PopulationStability.Index([0.9, 0.1], [1.0, 0.0]);

        Assert.Equal((0.1 * Math.Log(1 / 0.9)) + ((0.1 - 1e-4) * Math.Log(0.1 / 1e-4)), psi, 12);
        Assert.Equal(0.700621, psi, 6);
    }

    [Fact]
    public void Build_KnownValues_DecileEdgesWithGuardsAndTheirShares()
    {
        // events: 0..19 once each; exec: always 2; every other feature 0.
        var vectors = Enumerable.Range(0, 20).Select(i => Vector(v => { v[0] = i; v[1] = 2; })).ToList();

        var reference = DriftReference.Build(vectors)!;

        Assert.Null(reference.Problem());
        Assert.Equal(20, reference.Windows);
        // The three new_*_ratio features are not tracked, and a resource that never changed gave one fresh value.
        Assert.Equal(17, reference.Features.Length);
        Assert.DoesNotContain(reference.Features, h => h.Feature.StartsWith("new_", StringComparison.Ordinal) || h.Feature is "cpu_cores" or "memory_mib");

        // Deciles of 0..19 are 1, 3, ..., 17; guards just below 0 and at 19. Ten bins of 2 values; below and above
        // everything, 1/21 each (a 21st window from the same distribution), the ten others 2/20 of the remaining 19/21.
        var events = reference.Features.Single(h => h.Feature == "events");
        Assert.Equal([Math.BitDecrement(0.0), 1, 3, 5, 7, 9, 11, 13, 15, 17, 19], events.Edges);
        Assert.Equal([0.047619, .. Enumerable.Repeat(0.090476, 10), 0.047619], events.Proportions);

        // A constant: below it, it, above it.
        var exec = reference.Features.Single(h => h.Feature == "exec");
        Assert.Equal([Math.BitDecrement(2.0), 2], exec.Edges);
        Assert.Equal([0.047619, 0.904762, 0.047619], exec.Proportions);
        Assert.Equal(0, exec.Bin(1.9));
        Assert.Equal(1, exec.Bin(2));
        Assert.Equal(2, exec.Bin(2.1));
    }

    [Fact]
    public void Build_ResourceCarriedForward_OnlyFreshValuesCountInTrainingAndInService()
    {
        var cpu = BehaviourSchema.Index("cpu_cores");

        // Training: CPU sampled every third window, each sample carried forward through the next two.
        var training = Enumerable.Range(0, 90).Select(i => Vector(v => { v[0] = i % 7; v[cpu] = i / 3; })).ToList();
        var reference = DriftReference.Build(training)!;
        Assert.Equal(90, reference.Features.Single(h => h.Feature == "events").Windows);
        Assert.Equal(30, reference.Features.Single(h => h.Feature == "cpu_cores").Windows);

        // In service: the first sample is carried through 61 windows, then one fresh sample per window. Fresh values
        // are the training ones (0..29 once each): no drift. Counted per window, 0 would be two thirds of the hour.
        var service = Enumerable.Range(0, 90).Select(i => Vector(v => { v[0] = i % 7; v[cpu] = Math.Max(0, i - 60); })).ToList();
        var monitor = Monitor(reference, new DriftOptions { MinWindows = 20, TopFeatures = 22 });
        Feed(monitor, service, Start);
        monitor.Add(service[0], Start + TimeSpan.FromHours(1));

        Assert.Equal(0, monitor.Summary.TopFeatures.Single(f => f.Feature == "cpu_cores").Psi);
        Assert.Equal(0, monitor.Summary.TopFeatures.Single(f => f.Feature == "events").Psi);
    }

    [Fact]
    public void Build_TooFewWindows_NoReference()
    {
        Assert.Null(DriftReference.Build(Enumerable.Range(0, DriftReference.MinWindows - 1).Select(i => Vector(v => v[0] = i)).ToList()));
        Assert.NotNull(DriftReference.Build(Enumerable.Range(0, DriftReference.MinWindows).Select(i => Vector(v => v[0] = i)).ToList()));
    }

    [Fact]
    public void Card_WrittenAndRead_ReferenceComesBackBitForBit()
    {
        var reference = Reference(Training(200, seed: 1));
        var card = Card("v1", reference);

        var read = JsonSerializer.Deserialize<ModelCard>(JsonSerializer.Serialize(card, ModelCard.Json), ModelCard.Json)!;

        Assert.Contains("\"drift_reference\"", JsonSerializer.Serialize(card, ModelCard.Json), StringComparison.Ordinal);
        Assert.Equal(reference.Features.Length, read.DriftReference!.Features.Length);
        for (var f = 0; f < reference.Features.Length; f++)
        {
            // Edges are training values (the guard below the minimum included): a value on an edge must fall in the same bin after the round trip.
            Assert.Equal(reference.Features[f].Edges, read.DriftReference.Features[f].Edges);
            Assert.Equal(reference.Features[f].Proportions, read.DriftReference.Features[f].Proportions);
        }
    }

    [Fact]
    public void Card_WithAnIncompleteReference_IsStillReadAndItsReferenceUnusable()
    {
        var dir = Directory.CreateTempSubdirectory("drift-card-").FullName;
        try
        {
            var json = JsonSerializer.Serialize(Card("v1", null), ModelCard.Json).Replace("\"workload\":", "\"drift_reference\": { \"features\": [ { \"feature\": \"events\" } ] },\n  \"workload\":", StringComparison.Ordinal);
            File.WriteAllText(Path.Combine(dir, WorkloadModel.CardFile), json);

            var card = WorkloadModel.ReadCard(dir);

            Assert.NotNull(card.DriftReference);
            Assert.NotNull(card.DriftReference.Problem());
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public void Card_WrittenBeforeDrift_ReadsWithoutReference()
    {
        var json = JsonSerializer.Serialize(Card("v1", null), ModelCard.Json);
        Assert.DoesNotContain("drift", json, StringComparison.Ordinal);

        Assert.Null(JsonSerializer.Deserialize<ModelCard>(json, ModelCard.Json)!.DriftReference);
    }

    public static TheoryData<string, string> Broken => new()
    {
        { """{"windows":10,"features":[{"windows":10,"feature":"events","edges":[2,1],"proportions":[0.5,0.5,0]}]}""", "strictly increasing" },
        { """{"windows":10,"features":[{"windows":10,"feature":"events","edges":[1],"proportions":[1]}]}""", "proportions" },
        { """{"windows":10,"features":[{"windows":10,"feature":"events","edges":[1],"proportions":[1.5,-0.5]}]}""", "between 0 and 1" },
        { """{"windows":10,"features":[{"windows":10,"feature":"events","edges":[1],"proportions":[0.5,0.2]}]}""", "sum to" },
        { """{"windows":10,"features":[{"windows":10,"feature":"uid","edges":[1],"proportions":[0.5,0.5]}]}""", "not a behaviour feature" },
        { """{"windows":10,"features":[{"windows":10,"feature":"exec","edges":[1],"proportions":[0.5,0.5]},{"windows":10,"feature":"exec","edges":[1],"proportions":[0.5,0.5]}]}""", "twice" },
        { """{"windows":10,"features":[{"windows":10,"feature":"exec","edges":null,"proportions":[1]}]}""", "edges" },
        { """{"windows":10,"features":[{"windows":10,"feature":"exec","edges":[0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31,32],"proportions":[1,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0]}]}""", "edges" },
        { """{"windows":0,"features":[{"windows":10,"feature":"exec","edges":[1],"proportions":[0.5,0.5]}]}""", "0 windows" },
        { """{"windows":10,"features":[]}""", "0 features" },
        { """{"windows":10,"features":[{"windows":11,"feature":"exec","edges":[1],"proportions":[0.5,0.5]}]}""", "more than the reference's 10 windows" },
        { """{"windows":10,"features":[null]}""", "not a behaviour feature" },
        { """{}""", "0 windows" },
        { """{"windows":10,"features":[{"feature":"events"}]}""", "more than the reference's 10 windows" },
    };

    [Theory]
    [MemberData(nameof(Broken))]
    public void Problem_HostileReference_NamedNotThrown(string json, string expected)
    {
        var reference = JsonSerializer.Deserialize<DriftReference>(json, ModelCard.Json)!;

        Assert.Contains(expected, reference.Problem(), StringComparison.Ordinal);
    }

    [Fact]
    public void Add_TheTrainingWindowsAgain_DriftIsZero()
    {
        var training = Training(300, seed: 2);
        var monitor = Monitor(Reference(training), new DriftOptions { MinWindows = 100 });

        // 300 windows of 10 s fill 50 minutes; the first window of the next hour closes the slice and evaluates.
        Feed(monitor, training, Start);
        Assert.True(monitor.Add(training[0], Start + TimeSpan.FromHours(1)));

        var d = monitor.Summary;
        Assert.Equal(300, d.Windows);
        Assert.Equal(0, d.Psi!.Value, 4);
        Assert.False(d.RetrainSuggested);
        Assert.Equal(Start + TimeSpan.FromMinutes(55), d.EvaluatedAt); // the end of the slice holding the last window (at 50 min)
    }

    [Fact]
    public void Add_BytesOutTwentyTimesHigher_HighDriftWithBytesOutOnTop()
    {
        var training = Training(300, seed: 3);
        var reference = Reference(training);
        var monitor = Monitor(reference, new DriftOptions { MinWindows = 100 });
        var recent = Training(300, seed: 4).Select(v => Vector(w => { v.CopyTo(w, 0); w[BytesOut] += (float)Math.Log(20); })).ToList();

        Feed(monitor, recent, Start);
        monitor.Add(recent[0], Start + TimeSpan.FromHours(1));

        var d = monitor.Summary;
        Assert.Equal("bytes_out", d.TopFeatures[0].Feature);
        Assert.Equal(d.Psi, d.TopFeatures[0].Psi);
        Assert.True(d.Psi > 5, $"PSI {d.Psi}");
        Assert.Equal(Expected(reference, recent, "bytes_out"), d.TopFeatures[0].Psi, 9);

        // The other features were drawn from the same distribution: small, and recomputed by hand just the same.
        Assert.All(d.TopFeatures.Skip(1), f => Assert.True(f.Psi < 0.25, $"{f.Feature} {f.Psi}"));
        Assert.Equal(Expected(reference, recent, d.TopFeatures[1].Feature), d.TopFeatures[1].Psi, 9);
    }

    [Fact]
    public void Add_DriftStaysHigh_RetrainSuggestedOnlyAtTheSustainedEvaluationAndClearedWhenItSettles()
    {
        var training = Training(360, seed: 5);
        var o = new DriftOptions { MinWindows = 100, SustainedEvaluations = 3 };
        var monitor = Monitor(Reference(training), o);
        var shifted = training.Select(v => Vector(w => { v.CopyTo(w, 0); w[BytesOut] += 3; })).ToList();

        // An hour of shifted windows (one every 10 s); evaluations at every five-minute boundary after the first slice.
        var evaluations = new List<DriftSummary>();
        for (var i = 0; i < 720; i++)
        {
            if (monitor.Add(i < 360 ? shifted[i] : training[i - 360], Start + TimeSpan.FromSeconds(10 * (i + 1))))
            {
                evaluations.Add(monitor.Summary);
            }
        }

        // A slice closes every 5 min (the window ending on a boundary opens the next): 24 evaluations in two hours.
        // The first three hold too few windows (29, 59, 89: the window ending at 5 min is the next slice's).
        Assert.Equal(24, evaluations.Count);
        Assert.All(evaluations.Take(3), e => Assert.Null(e.Psi));
        Assert.Equal([29, 59, 89], evaluations.Take(3).Select(e => e.Windows));
        Assert.Contains("drift needs 100", evaluations[0].Unknown, StringComparison.Ordinal);
        var known = evaluations.Skip(3).Take(9).ToList(); // 20 ... 60 min: only shifted windows
        Assert.All(known, e => Assert.True(e.Psi >= o.Threshold));
        Assert.Equal([1, 2, 3, 4, 5, 6, 7, 8, 9], known.Select(e => e.ConsecutiveAbove));
        Assert.Equal([false, false, true, true, true, true, true, true, true], known.Select(e => e.RetrainSuggested));
        Assert.All(known.Skip(2), e => Assert.Equal(known[2].EvaluatedAt, e.RetrainSuggestedSince));

        // Then normal windows replace the shifted ones slice by slice; once the hour holds few enough shifted ones,
        // drift drops under the threshold and the suggestion is gone.
        var last = evaluations[^1];
        Assert.True(last.Psi < 0.05, $"PSI {last.Psi} after an hour of training-like windows");
        Assert.False(last.RetrainSuggested);
        Assert.Null(last.RetrainSuggestedSince);
        Assert.Equal(0, last.ConsecutiveAbove);
    }

    [Fact]
    public void Add_AnHourIdle_SlicesExpireAndTheNextEvaluationHasTooFewWindows()
    {
        var training = Training(200, seed: 6);
        var monitor = Monitor(Reference(training), new DriftOptions { MinWindows = 100 });
        Feed(monitor, training, Start);

        // Two hours later: the evaluation covers the hour up to the last slice with windows, then everything expires.
        Assert.True(monitor.Add(training[0], Start + TimeSpan.FromHours(3)));
        Assert.Equal(200, monitor.Summary.Windows);
        Assert.True(monitor.Add(training[1], Start + TimeSpan.FromHours(3) + TimeSpan.FromMinutes(5)));

        Assert.Equal(1, monitor.Summary.Windows);
        Assert.Null(monitor.Summary.Psi);
    }

    /// <summary>The PSI of one feature recomputed from the reference's bins and the recent values, without the monitor.</summary>
    private static double Expected(DriftReference reference, List<float[]> recent, string feature)
    {
        var h = reference.Features.Single(x => x.Feature == feature);
        var i = BehaviourSchema.Index(feature);
        var counts = new double[h.Proportions.Length];
        foreach (var v in recent)
        {
            counts[h.Bin(v[i])]++;
        }

        var psi = 0.0;
        for (var b = 0; b < counts.Length; b++)
        {
            var a = Math.Max(counts[b] / recent.Count, 1e-4);
            var e = Math.Max(h.Proportions[b], 1e-4);
            psi += (a - e) * Math.Log(a / e);
        }

        // Less the sampling bias: (bins − 1)·(1/recent + 1/training).
        return Math.Max(0, psi - ((counts.Length - 1) * ((1.0 / recent.Count) + (1.0 / h.Windows))));
    }

    internal static DriftMonitor Monitor(DriftReference reference, DriftOptions o) => new(reference, o, "v1");

    /// <summary>Windows every 10 s from <paramref name="from"/> (the first ends 10 s after it).</summary>
    private static void Feed(DriftMonitor monitor, List<float[]> windows, DateTimeOffset from)
    {
        for (var i = 0; i < windows.Count; i++)
        {
            monitor.Add(windows[i], from + TimeSpan.FromSeconds(10 * (i + 1)));
        }
    }

    internal static DriftReference Reference(List<float[]> training) => DriftReference.Build(training)!;

    /// <summary>Windows of an ordinary busy service: counts as log(1+x) of Poisson-like draws, ratios, CPU and memory.</summary>
    internal static List<float[]> Training(int n, int seed)
    {
        var rng = new Random(seed);
        return Enumerable.Range(0, n).Select(_ => Vector(v =>
        {
            for (var f = 0; f <= 12; f++)
            {
                v[f] = (float)Math.Log(1 + rng.Next(0, 20 + (5 * f)));
            }

            v[BytesOut] = (float)Math.Log(1 + rng.Next(20_000, 60_000));
            v[BehaviourSchema.Index("bytes_in")] = (float)Math.Log(1 + rng.Next(5_000, 9_000));
            v[BehaviourSchema.Index("failed_ratio")] = (float)(rng.NextDouble() * 0.05);
            v[BehaviourSchema.Index("destination_entropy")] = (float)(1 + rng.NextDouble());
            v[BehaviourSchema.Index("cpu_cores")] = (float)(0.2 + (rng.NextDouble() * 0.05));
            v[BehaviourSchema.Index("memory_mib")] = (float)(100 + rng.NextDouble());
        })).ToList();
    }

    internal static float[] Vector(Action<float[]> fill)
    {
        var v = new float[BehaviourSchema.Features.Length];
        fill(v);
        return v;
    }

    internal static ModelCard Card(string version, DriftReference? reference) => new()
    {
        Workload = "t/shop/Deployment/cart/cart",
        Version = version,
        Fingerprint = BehaviourSchema.Fingerprint,
        FeatureSchema = BehaviourSchema.Features,
        CreatedAt = Start,
        Training = new TrainingInfo(Start, Start, 0, 0, 0, 0, 0, "test"),
        WindowSeconds = 10,
        TargetAlertsPerDay = 1,
        Thresholds = new() { ["spike:exec"] = 100 },
        Evaluation = [],
        DriftReference = reference,
    };
}
