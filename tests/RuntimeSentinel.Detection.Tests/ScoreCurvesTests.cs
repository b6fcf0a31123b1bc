using RuntimeSentinel.Lab.Evaluation;

namespace RuntimeSentinel.Detection.Tests;

public sealed class ScoreCurvesTests
{
    // Attacks 0.9, 0.7, 0.7, 0.2 and normals 0.8, 0.7, 0.3, 0.1: one three-way tie at 0.7 across both classes.
    private static readonly ScoredSample[] Mixed =
    [
        new(0.9, true), new(0.7, true), new(0.7, true), new(0.2, true),
        new(0.8, false), new(0.7, false), new(0.3, false), new(0.1, false),
    ];

    [Fact]
    public void Roc_TiedScoresAcrossClasses_OneDiagonalStepPerDistinctScore()
    {
        // By hand: flagging ≥ t for t = 0.9, 0.8, 0.7, 0.3, 0.2, 0.1 gives (TP, FP) = (1,0) (1,1) (3,2) (3,3) (4,3) (4,4) of 4 and 4.
        var roc = ScoreCurves.Roc(Mixed);
        Assert.Equal(
            [(0.0, 0.0), (0.0, 0.25), (0.25, 0.25), (0.5, 0.75), (0.75, 0.75), (0.75, 1.0), (1.0, 1.0)],
            roc.Select(p => (p.FalsePositiveRate, p.TruePositiveRate)).ToArray());
        Assert.Equal([double.PositiveInfinity, 0.9, 0.8, 0.7, 0.3, 0.2, 0.1], roc.Select(p => p.Threshold).ToArray());
    }

    [Fact]
    public void Auc_TiedScores_TrapezoidsEqualMannWhitneyWithTiesHalf()
    {
        // Trapezoids: 0 + 0.0625 + 0.125 + 0.1875 + 0 + 0.25 = 0.625. Pairs: 0.9 beats 4 normals, each 0.7 beats 2 and
        // ties 1 (2.5), 0.2 beats 1: 10 of 16 = 0.625, as DetectionQuality counts it.
        var auc = ScoreCurves.Auc(ScoreCurves.Roc(Mixed));
        Assert.Equal(0.625, auc, 12);
        Assert.Equal(new DetectionQuality(Mixed.Where(s => !s.Positive).Select(s => s.Score), Mixed.Where(s => s.Positive).Select(s => s.Score)).Auc(), auc, 12);
    }

    [Fact]
    public void PrecisionRecall_TiedScores_PointsAndAveragePrecisionByHand()
    {
        var pr = ScoreCurves.PrecisionRecall(Mixed);
        Assert.Equal(
            [(0.25, 1.0), (0.25, 0.5), (0.75, 0.6), (0.75, 0.5), (1.0, 4 / 7.0), (1.0, 0.5)],
            pr.Select(p => (p.Recall, p.Precision)).ToArray());

        // Σ ΔR·P = 0.25·1 + 0.5·0.6 + 0.25·4/7.
        Assert.Equal(0.25 + 0.3 + (1 / 7.0), ScoreCurves.AveragePrecision(pr), 12);
    }

    [Fact]
    public void Roc_AllScoresTied_TheDiagonalAndAucOneHalf()
    {
        var roc = ScoreCurves.Roc([new(1, true), new(1, false), new(1, false)]);
        Assert.Equal([(0.0, 0.0), (1.0, 1.0)], roc.Select(p => (p.FalsePositiveRate, p.TruePositiveRate)).ToArray());
        Assert.Equal(0.5, ScoreCurves.Auc(roc));
        Assert.Equal([(1.0, 1 / 3.0)], ScoreCurves.PrecisionRecall([new(1, true), new(1, false), new(1, false)]).Select(p => (p.Recall, p.Precision)).ToArray());
    }

    [Fact]
    public void Curves_NaNScoreOrOneClassOnly_NaNLeftOutAndAreasUndefined()
    {
        var roc = ScoreCurves.Roc([new(double.NaN, true), new(2, true), new(1, false)]);
        Assert.Equal(1.0, ScoreCurves.Auc(roc));
        Assert.Equal(3, roc.Count);
        Assert.True(double.IsNaN(ScoreCurves.Auc(ScoreCurves.Roc([new(1, false), new(2, false)]))));
        Assert.True(double.IsNaN(ScoreCurves.AveragePrecision(ScoreCurves.PrecisionRecall([new(1, false)]))));
    }
}
