using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using RuntimeSentinel.Core.Workloads;
using RuntimeSentinel.Detection.Models;
using RuntimeSentinel.Detection.Shards;
using RuntimeSentinel.Detection.Workloads;
using RuntimeSentinel.TestCommon;

namespace RuntimeSentinel.Detection.Tests.Shards;

public class ShardModelsTests
{
    private static readonly Lazy<(WorkloadModel Model, string Workload)> Trained = new(() => WorkloadModelTests.Trained());

    private readonly DetectionMetrics _metrics = new(Prometheus.Metrics.WithCustomRegistry(Prometheus.Metrics.NewCustomRegistry()));
    private readonly DetectionOptions _options = WorkloadModelTests.Options();
    private readonly List<ShardCommand> _posted = [];

    private static WorkloadKey Key => WorkloadKey.TryParse(Trained.Value.Workload, out var key) ? key : throw new InvalidOperationException();

    private ShardModels Models() => new(
        new ShardContext(
            _options, new RecordingAlerts(), _metrics, new FakeTimeProvider(Some.Time), NullLogger.Instance, new AlertRate(),
            new ShardShared(ModelMemoryBudget.Unlimited(), ModelMemoryBudget.Unlimited()), NoWorkloadStateStore.Instance),
        c =>
        {
            _posted.Add(c);
            return ValueTask.FromResult(true);
        });

    private WorkloadState NewState() => WorkloadState.New(Key, _options, Some.Time, null, null);

    [Fact]
    public void Swap_WorkloadNotOnTheShard_WaitsAndGoesInServiceWhenItAppears()
    {
        var models = Models();

        Assert.Equal(FeedbackResult.Pending, models.Swap(Key, Trained.Value.Model, null));
        Assert.Equal(1, models.PendingCount);

        var state = NewState();
        models.Appeared(Key, state);

        Assert.Same(Trained.Value.Model, state.Models!.Model);
        Assert.True(state.Models.Promoted);
        Assert.Equal(0, models.PendingCount);
        Assert.Equal(1, _metrics.ModelSwaps.WithLabels("pending").Value);
        Assert.Equal(1, _metrics.ModelSwaps.WithLabels("applied").Value);
    }

    [Fact]
    public void Swap_WorkloadOnTheShard_InServiceAtOnce()
    {
        var models = Models();
        var state = NewState();

        Assert.Equal(FeedbackResult.Applied, models.Swap(Key, Trained.Value.Model, state));

        Assert.Same(Trained.Value.Model, state.Models!.Model);
        Assert.Equal(0, models.PendingCount);
    }

    [Fact]
    public void Swap_ModelsOff_RejectedAndNotKept()
    {
        _options.Models.Enabled = false;
        var models = Models();

        Assert.Equal(FeedbackResult.Rejected, models.Swap(Key, Trained.Value.Model, null));
        Assert.Equal(0, models.PendingCount);
        Assert.Equal(1, _metrics.ModelSwaps.WithLabels("rejected").Value);
    }

    [Fact]
    public void Swap_MoreWorkloadsWaitingThanTheCap_OldestDropped()
    {
        var models = Models();
        for (var i = 0; i < 1005; i++)
        {
            models.Swap(new WorkloadKey("t", "shop", "Deployment", $"w{i}", "c"), Trained.Value.Model, null);
        }

        Assert.Equal(1000, models.PendingCount);
    }

    [Fact]
    public void Install_WorkloadEvictedMeanwhile_DiscardedNotInService()
    {
        var models = Models();
        var state = NewState();
        using var job = state.Models!.TakeTraining(Some.Time, "auto-1", "daemon");

        var result = models.Install(new ShardCommand.InstallTrained(Key, state.Models, job, Trained.Value.Model, null), current: null);

        Assert.Equal(FeedbackResult.Rejected, result);
        Assert.Null(state.Models.Model);
        Assert.Equal(1, _metrics.ModelsTrained.WithLabels("discarded").Value);
    }

    [Fact]
    public void Install_WorkloadStillHere_InServiceAndCounted()
    {
        var models = Models();
        var state = NewState();
        using var job = state.Models!.TakeTraining(Some.Time, "auto-1", "daemon");

        var result = models.Install(new ShardCommand.InstallTrained(Key, state.Models, job, Trained.Value.Model, null), current: state);

        Assert.Equal(FeedbackResult.Applied, result);
        Assert.Same(Trained.Value.Model, state.Models.Model);
        Assert.Equal(1, _metrics.ModelsTrained.WithLabels("trained").Value);
    }

    [Fact]
    public void Install_WorkloadRelearnedMeanwhile_Discarded()
    {
        var models = Models();
        var state = NewState();
        using var job = state.Models!.TakeTraining(Some.Time, "auto-1", "daemon");
        state.Models.Reset();

        var result = models.Install(new ShardCommand.InstallTrained(Key, state.Models, job, Trained.Value.Model, null), current: state);

        Assert.Equal(FeedbackResult.Rejected, result);
        Assert.Null(state.Models.Model);
    }

    [Fact]
    public void Install_TrainingFailed_CountedAndNothingInService()
    {
        var models = Models();
        var state = NewState();
        using var job = state.Models!.TakeTraining(Some.Time, "auto-1", "daemon");

        var result = models.Install(new ShardCommand.InstallTrained(Key, state.Models, job, null, new InvalidOperationException("no")), current: state);

        Assert.Equal(FeedbackResult.Rejected, result);
        Assert.Equal(1, _metrics.ModelsTrained.WithLabels("failed").Value);
        Assert.Empty(_posted);
    }
}
