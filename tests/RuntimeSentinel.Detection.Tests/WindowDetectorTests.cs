using RuntimeSentinel.Detection.Models;

namespace RuntimeSentinel.Detection.Tests;

public class WindowDetectorTests
{
    private static float[] Window(string feature, float value)
    {
        var w = new float[BehaviourSchema.Features.Length];
        w[BehaviourSchema.Index(feature)] = value;
        return w;
    }

    [Fact]
    public void SpikeSeries_AfterSteadyWindows_ScoresAJumpHighAndExplainsItAgainstTheMedian()
    {
        IWindowDetector d = new SpikeSeries("connect", new SpikeDetector(history: 20, minScale: 0.5));
        Assert.Equal(WorkloadModel.SpikePrefix + "connect", d.Name);
        Assert.True(double.IsNaN(d.Score(Window("connect", 5), 0)), "no history yet: cannot say");
        for (var i = 0; i < 20; i++)
        {
            var w = Window("connect", 5 + (i % 2));
            d.Learn(w, 0, d.Score(w, 0), 4);
        }

        var jump = Window("connect", 50);
        var z = d.Score(jump, 0);
        Assert.True(z > 20, $"z {z}");
        var why = Assert.Single(d.Explain(jump, 0, 3));
        Assert.Equal("connect", why.Feature);
        Assert.True(why.Observed > why.Baseline);
    }

    [Fact]
    public void SpikeSeries_AlertingWindow_TeachesOnlyUpToTheThreshold()
    {
        var taught = new SpikeSeries("connect", new SpikeDetector(history: 20, minScale: 0.5));
        var unclipped = new SpikeDetector(history: 20, minScale: 0.5);
        for (var i = 0; i < 20; i++)
        {
            var w = Window("connect", 5 + (i % 2));
            taught.Learn(w, 0, taught.Score(w, 0), 4);
            unclipped.Update(5 + (i % 2), 0);
        }

        // An attack lasting most of the history: unclipped it would become the series' normal; clipped it still alerts.
        var attack = Window("connect", 500);
        for (var i = 0; i < 15; i++)
        {
            taught.Learn(attack, 0, taught.Score(attack, 0), 4);
            unclipped.Update(500, 0);
        }

        Assert.True(taught.Score(attack, 0) > 4, $"clipped: z {taught.Score(attack, 0)}");
        Assert.True(unclipped.Score(500, 0, out _) < 4, $"unclipped: z {unclipped.Score(500, 0, out _)}");
    }

    [Fact]
    public void Detectors_NameAndMemory_AreWhatCardsAndBudgetsUse()
    {
        var spike = new SpikeSeries("bytes_out", new SpikeDetector(history: 120, seasonBuckets: 24, perBucket: 12));
        Assert.True(WorkloadModel.IsDetector(spike.Name));
        Assert.True(spike.MemoryBytes >= 8 * (120 + (24 * 12)));
    }
}
