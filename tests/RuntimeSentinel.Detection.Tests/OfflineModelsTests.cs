using RuntimeSentinel.Lab.Evaluation;
using RuntimeSentinel.TestCommon;

namespace RuntimeSentinel.Detection.Tests;

public class OfflineModelsTests
{
    [Fact]
    public void ScoreWindows_ModelInService_EachScoredWindowOnceLabelledByItsOwnEvents()
    {
        var (model, workload) = WorkloadModelTests.Trained();
        var window = TimeSpan.FromSeconds(model.Card.WindowSeconds);
        var start = Some.Time.AddSeconds(1300);
        var events = new SyntheticWorkload(11).Seconds(start, 300).ToList();
        bool IsPositive(Core.Events.RuntimeEvent e) => e.Timestamp >= start.AddSeconds(100) && e.Timestamp < start.AddSeconds(115);

        var windows = OfflineModels.ScoreWindows(WorkloadModelTests.Options(), new Dictionary<string, Models.WorkloadModel> { [workload] = model }, events, IsPositive);

        // Five minutes of 10-second windows, each reported once, in order, by the window it scored.
        Assert.InRange(windows.Count, 28, 30);
        Assert.All(windows, w => Assert.Equal(workload, w.Workload));
        Assert.All(windows.Zip(windows.Skip(1)), p => Assert.True(p.First.End < p.Second.End));
        Assert.All(windows, w => Assert.Equal(events.Any(e => IsPositive(e) && e.Timestamp >= w.End - window && e.Timestamp < w.End), w.Positive));
        Assert.Contains(windows, w => w.Positive);
        Assert.All(windows, w => Assert.True(w.Ratio >= 0 && double.IsFinite(w.Ratio)));
    }
}
