using RuntimeSentinel.Detection.Models;
using RuntimeSentinel.TestCommon;

namespace RuntimeSentinel.Detection.Tests;

public class ModelDetectorTests
{
    private static double Gaussian(Random rng) => Math.Sqrt(-2 * Math.Log(1 - rng.NextDouble())) * Math.Cos(2 * Math.PI * rng.NextDouble());

    [Fact]
    public void SpikeDetector_NoisySeriesThenJump_ScoresJumpFarAboveNoise()
    {
        var rng = new Random(1);
        var d = new SpikeDetector(history: 60, minScale: 0.01);
        var noise = new List<double>();
        for (var i = 0; i < 200; i++)
        {
            var v = 10 + Gaussian(rng);
            var z = d.Score(v, 0, out _);
            if (!double.IsNaN(z))
            {
                noise.Add(Math.Abs(z));
            }

            d.Update(v, 0);
        }

        var jump = d.Score(20, 0, out var median);
        Assert.InRange(median, 9.5, 10.5);
        Assert.True(jump > 6, $"jump z={jump}");
        Assert.True(noise.Max() < jump / 2, $"largest noise z {noise.Max()} vs jump {jump}");
    }

    [Fact]
    public void SpikeDetector_FewerThanFiveValues_ReturnsNaN()
    {
        var d = new SpikeDetector();
        for (var i = 0; i < 4; i++)
        {
            Assert.True(double.IsNaN(d.Score(1, 0, out _)));
            d.Update(1, 0);
        }

        d.Update(1, 0);
        Assert.False(double.IsNaN(d.Score(1, 0, out _)));
    }

    [Fact]
    public void SpikeDetector_FlatSeries_UsesMinScaleInsteadOfInfiniteZ()
    {
        var d = new SpikeDetector(minScale: 0.5);
        for (var i = 0; i < 20; i++)
        {
            d.Update(3, 0);
        }

        Assert.Equal(2, d.Score(4, 0, out _), 6);
    }

    [Fact]
    public void SpikeDetector_Seasonal_NightlyBatchMatchesItsSlotButSameValueByDayIsASpike()
    {
        // 24 slots per season; slot 2 (the nightly batch) runs at 50, every other slot at 5.
        var rng = new Random(2);
        var d = new SpikeDetector(history: 120, seasonBuckets: 24, perBucket: 12, minScale: 0.5);
        for (var day = 0; day < 10; day++)
        {
            for (var slot = 0; slot < 24; slot++)
            {
                d.Update((slot == 2 ? 50 : 5) + Gaussian(rng), (day * 24) + slot);
            }
        }

        Assert.True(Math.Abs(d.Score(50, (10 * 24) + 2, out _)) < 3, "the batch at its usual time is normal");
        Assert.True(d.Score(50, (10 * 24) + 14, out _) > 10, "the same load in the afternoon is a spike");
    }

    [Fact]
    public void SpikeDetector_Seasonal_SlotJudgesOnlyFromThreePastSeasonsNeverFromTheCurrentPass()
    {
        // 6 windows per slot, 24 slots: the batch runs at 50 in slot 2, everything else at 5.
        var rng = new Random(3);
        var d = new SpikeDetector(history: 120, seasonBuckets: 24, perBucket: 12, minScale: 0.5, windowsPerSlot: 6);
        void Day(int day, int from = 0, int to = 24 * 6)
        {
            for (var w = from; w < to; w++)
            {
                d.Update((w / 6 == 2 ? 50 : 5) + Gaussian(rng), (day * 24 * 6) + w);
            }
        }

        // Two past nights: not yet a season, so the batch is judged against the recent (daytime) history.
        Day(0);
        Day(1);
        Assert.True(d.Score(50, (2 * 24 * 6) + 12, out _) > 10, "two past seasons are not a baseline");

        // Halfway through the third night's batch slot its own windows are in the slot, but the current pass is not its
        // own history: still judged against the recent history.
        Day(2, 0, 15);
        Assert.True(d.Score(50, (2 * 24 * 6) + 15, out _) > 10, "the current pass is not its own baseline");
        Day(2, 15);
        Assert.True(Math.Abs(d.Score(50, (3 * 24 * 6) + 12, out _)) < 3, "three past nights: the batch at its usual time is normal");
        Assert.True(d.Score(50, (3 * 24 * 6) + 60, out _) > 10, "the same load at another time is a spike");
    }

    [Fact]
    public void SpikeDetector_ValueAt_IsTheValueThatScoresThatZ()
    {
        // Median 0 with a real spread: the clipping level must use the spread, not the floor.
        var d = new SpikeDetector(minScale: 0.01);
        foreach (var v in new double[] { -3, -2, -1, 0, 0, 0, 1, 2, 3 })
        {
            d.Update(v, 0);
        }

        var at = d.ValueAt(5, 0);
        Assert.Equal(5, d.Score(at, 0, out _), 9);
        Assert.True(at > 5);
    }

    [Fact]
    public void SpikeDetector_AlertingValuesEnterClipped_BaselineMovesSlowly()
    {
        var d = new SpikeDetector(history: 30, minScale: 0.1);
        for (var i = 0; i < 30; i++)
        {
            d.Update(1 + (0.1 * (i % 3)), 0);
        }

        for (var i = 0; i < 10; i++)
        {
            var z = d.Score(100, 0, out _);
            d.Update(100, 0, z > 5 ? d.ValueAt(5, 0) : double.PositiveInfinity);
        }

        Assert.True(d.Score(100, 0, out var median) > 5, "ten attack windows have not become normal");
        Assert.True(median < 2, $"median {median}");
    }

    [Fact]
    public void Calibration_ProbabilityInsideData_ReturnsEmpiricalQuantile()
    {
        var scores = Enumerable.Range(1, 100).Select(i => (double)i).ToList();
        Assert.Equal(90, Calibration.Threshold(scores, 0.1));
        Assert.Equal(99, Calibration.Threshold(scores, 0.01));
    }

    [Fact]
    public void Calibration_ExponentialScoresRareTarget_ExtrapolatesNearTrueQuantile()
    {
        // Exp(1) scores: P(X > t) = e^-t, so the 1e-5 exceedance threshold is ln(1e5) = 11.5.
        var rng = new Random(3);
        var scores = Enumerable.Range(0, 2000).Select(_ => -Math.Log(1 - rng.NextDouble())).ToList();
        var t = Calibration.Threshold(scores, 1e-5);
        Assert.InRange(t, 11.5 * 0.8, 11.5 * 1.2);
        Assert.True(t > scores.Max());
    }

    [Fact]
    public void Calibration_ConstantScores_ThresholdAboveThem()
    {
        var t = Calibration.Threshold(Enumerable.Repeat(0.5, 50).ToList(), 1e-4);
        Assert.True(t > 0.5);
    }

    [Fact]
    public void Calibration_TooFewScores_Throws()
    {
        Assert.Throws<ArgumentException>(() => Calibration.Threshold([1, 2, 3], 0.01));
    }

    [Fact]
    public void Calibration_ExceedanceFor_SplitsBudgetOverDetectorsAndOpportunities()
    {
        // One alert per day shared by 4 detectors scoring 8640 windows a day.
        Assert.Equal(1.0 / 4 / 8640, Calibration.ExceedanceFor(1, 4, 8640), 12);
    }

    private static (List<float[]> Vectors, string[] Names) Correlated(int n, int seed)
    {
        // Feature b follows a (b = 2a + noise); c is independent noise.
        var rng = new Random(seed);
        var vectors = new List<float[]>();
        for (var i = 0; i < n; i++)
        {
            var a = 5 + (2 * Gaussian(rng));
            vectors.Add([(float)a, (float)((2 * a) + (0.1 * Gaussian(rng))), (float)(1 + (0.1 * Gaussian(rng)))]);
        }

        return (vectors, ["a", "b", "c"]);
    }

    [Fact]
    public void PcaDetector_VectorAtTrainingMean_ScoresZeroNotNaN()
    {
        var (vectors, names) = Correlated(200, 4);
        var pca = PcaDetector.Train(vectors, names, rank: 1, seed: 1);
        var mean = Enumerable.Range(0, 3).Select(i => (float)pca.Scaler.Mean[i]).ToArray();
        var s = pca.Score(mean);
        Assert.True(vectors.Max(v => pca.Score(v)) > 0.5);
        Assert.False(double.IsNaN(s));
        Assert.True(s < 1e-3, $"score at the mean {s}");

        // ML.NET's own score is a ratio and gives NaN exactly there; a tiny step off the mean stays tiny.
        mean[2] += 0.001f;
        Assert.True(pca.Score(mean) < 0.1, $"near the mean {pca.Score(mean)}");
    }

    [Fact]
    public void PcaDetector_BrokenCorrelation_ScoresAboveAllTrainingAndExplainsTheFeature()
    {
        var (vectors, names) = Correlated(300, 5);
        var pca = PcaDetector.Train(vectors, names, rank: 2, seed: 1);
        var worstNormal = vectors.Max(v => pca.Score(v));

        // a is ordinary, but b is far from 2a: the learned relation breaks.
        float[] odd = [5, 20, 1];
        Assert.True(pca.Score(odd) > worstNormal * 1.5, $"odd {pca.Score(odd)} vs worst normal {worstNormal}");
        var top = pca.Explain(odd, 2);
        Assert.Contains(top, c => c.Feature is "a" or "b");
        Assert.Equal(20, top.Single(c => c.Feature == "b").Observed, 3);
        Assert.True(top.Sum(c => c.Share) > 0.8);
    }

    [Fact]
    public void PcaDetector_SaveAndLoad_ScoresTheSame()
    {
        var (vectors, names) = Correlated(100, 6);
        var pca = PcaDetector.Train(vectors, names, rank: 1, seed: 1);
        using var dir = new TempFolder("pca-");
        var path = dir["m.zip"];
        pca.Save(path);
        var loaded = PcaDetector.Load(path, pca.Scaler);
        foreach (var v in vectors.Take(10).Append([5, 20, 1]))
        {
            Assert.Equal(pca.Score(v), loaded.Score(v), 5);
        }
    }

    [Fact]
    public void SequenceModel_UnusualOrder_WindowScoresAboveEveryNormalWindow()
    {
        string[] symbols = ["read", "write", "epoll_wait", "execve", "dup2", "connect"];
        var rng = new Random(7);
        var normal = Enumerable.Range(0, 20).Select(_ => (Exe: (string?)"/usr/bin/node", Calls: Enumerable.Range(0, 300).Select(i => i % 3 == 0 && rng.NextDouble() < 0.9 ? 2 : i % 2).ToArray())).ToList();
        var model = SequenceModel.Train(symbols, normal, order: 3, window: 8);
        var worstNormal = normal.SelectMany(p => model.WindowScores(p.Exe, p.Calls, 0)).Max();
        int[] shell = [2, 0, 1, 5, 4, 4, 4, 3, 0, 1, 0, 1, 5, 4, 3];
        var attack = model.WindowScores("/usr/bin/node", shell, 0).Max();
        Assert.True(attack > worstNormal + 1, $"attack {attack:0.00} bits vs worst normal {worstNormal:0.00}");
    }

    [Fact]
    public void SequenceModel_SaveAndLoad_ScoresTheSame()
    {
        string[] symbols = ["a", "b", "c"];
        var traces = new List<(string?, int[])> { ("/x", Enumerable.Range(0, 600).Select(i => i % 3).ToArray()), (null, [0, 0, 1, 2, 1]) };
        var model = SequenceModel.Train(symbols, traces, 3, 4);
        var path = Path.GetTempFileName();
        try
        {
            model.Save(path);
            var loaded = SequenceModel.Load(path);
            Assert.Equal(["/x"], loaded.Executables);
            int[] probe = [0, 2, 1, 0, 1, 2, 2, 2];
            Assert.Equal(model.WindowScores("/x", probe, 0), loaded.WindowScores("/x", probe, 0));
            Assert.Equal(model.WindowScores("/other", probe, 0), loaded.WindowScores("/other", probe, 0));
        }
        finally
        {
            File.Delete(path);
        }
    }
}
