using RuntimeSentinel.Detection.Sequences;
using RuntimeSentinel.Lab.Evaluation;

namespace RuntimeSentinel.Detection.Tests;

public class SequenceModelTests
{
    [Fact]
    public void Surprisal_ProbabilitiesOverTheVocabulary_SumToOneWithTheUnseenSymbol()
    {
        var model = new NgramModel(3);
        model.Train([[1, 2, 3, 1, 2, 3, 1, 2, 4], [2, 3, 1, 5]]);
        foreach (var context in new[] { new[] { 1, 2 }, new[] { 9, 9 }, new[] { 3, 1 } })
        {
            // Symbols 1-5 seen, plus one probability slot for anything unseen (here 99).
            var total = new[] { 1, 2, 3, 4, 5, 99 }.Sum(s => Math.Pow(2, -model.Surprisal([.. context, s])[^1]));
            Assert.Equal(1.0, total, 6);
        }
    }

    [Fact]
    public void MeanSurprisal_LearnedPatternVersusShuffled_LearnedIsLessSurprising()
    {
        var rng = new Random(11);
        var normal = Enumerable.Range(0, 50).Select(_ => Enumerable.Range(0, 60).Select(i => new[] { 3, 4, 5, 6, 4 }[i % 5]).ToArray()).ToList();
        var model = new NgramModel(4);
        model.Train(normal);
        var same = normal[0];
        var shuffled = same.OrderBy(_ => rng.Next()).ToArray();
        Assert.True(model.MeanSurprisal(same) < 0.5);
        Assert.True(model.MeanSurprisal(shuffled) > model.MeanSurprisal(same) + 1);
    }

    [Fact]
    public void Train_SecondTime_ThrowsBecauseTheTablesAreFrozen()
    {
        var model = new NgramModel(3);
        model.Train([[1, 2, 3]]);
        Assert.Throws<InvalidOperationException>(() => model.Train([[1, 2, 3]]));
    }

    [Fact]
    public void SaveLoad_RoundTrip_SameSurprisalAndSize()
    {
        var rng = new Random(5);
        var data = Enumerable.Range(0, 30).Select(_ => Enumerable.Range(0, 200).Select(_ => rng.Next(0, 40)).ToArray()).ToList();
        var model = new NgramModel(4);
        model.Train(data);
        using var stream = new MemoryStream();
        using (var w = new BinaryWriter(stream, System.Text.Encoding.UTF8, leaveOpen: true))
        {
            model.Save(w);
        }

        stream.Position = 0;
        var loaded = NgramModel.Load(new BinaryReader(stream));
        var probe = Enumerable.Range(0, 300).Select(_ => rng.Next(0, 45)).ToArray();
        Assert.Equal(model.Surprisal(probe), loaded.Surprisal(probe));
        Assert.Equal(model.Contexts, loaded.Contexts);
        Assert.Equal(model.EstimatedBytes, loaded.EstimatedBytes);
        Assert.True(model.EstimatedBytes > model.Contexts * 8L);
    }

    [Fact]
    public void Constructor_OrderOutOfRange_Throws()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new NgramModel(7));
    }

    [Fact]
    public void DetectionQuality_PerfectSeparation_AucOneAndFullDetection()
    {
        var q = new DetectionQuality([1, 2, 3, 4], [10, 11]);
        Assert.Equal(1.0, q.Auc());
        Assert.Equal(1.0, q.DetectionRateAtFpr(0.01));
        Assert.Equal(0.0, q.FprAtDetectionRate(0.9));
        Assert.Equal((2, 0, 4, 0), q.ConfusionAt(5));
    }

    [Fact]
    public void DetectionQuality_AllTied_AucOneHalf()
    {
        Assert.Equal(0.5, new DetectionQuality([1, 1, 1], [1, 1]).Auc());
    }

    [Fact]
    public void DetectionQuality_Overlap_RatesAtTheOperatingPoints()
    {
        // Normals 1..10, attacks 6..15: half the attacks overlap the top half of normals.
        var q = new DetectionQuality(Enumerable.Range(1, 10).Select(i => (double)i), Enumerable.Range(6, 10).Select(i => (double)i));
        Assert.Equal(0.5, q.DetectionRateAtFpr(0.0));   // threshold above every normal: attacks 11..15
        Assert.Equal(0.6, q.DetectionRateAtFpr(0.1));   // one normal (10) may pass: attacks 10..15
        Assert.Equal(0.4, q.FprAtDetectionRate(0.9), 10); // 9 of 10 attacks means flagging >= 7: normals 7..10
        Assert.Equal(0.875, q.Auc(), 10);               // ties (6..10) count half
    }
}
