using Confluent.Kafka;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using static RuntimeSentinel.Kafka.Tests.Ingest;

namespace RuntimeSentinel.Kafka.Tests;

/// <summary>The group's bookkeeping: what is owned, what is stored and committed, and what happens to both in a rebalance.</summary>
public sealed class PartitionAssignmentsTests
{
    private readonly KafkaMetrics _metrics = Metrics();
    private readonly FakeTimeProvider _time = new();

    private PartitionAssignments Assignments(out IngestionHealth health)
    {
        health = Health(_metrics);
        return new PartitionAssignments(_metrics, health, _time, NullLogger.Instance);
    }

    private static void Finish(PartitionTracker tracker, params long[] offsets)
    {
        foreach (var o in offsets)
        {
            tracker.Track(o);
            tracker.Complete(o);
        }
    }

    [Fact]
    public void Assign_TwoPartitions_JoinedAndCounted()
    {
        var assignments = Assignments(out var health);

        assignments.Assign([P(0), P(1)]);

        Assert.True(health.JoinedGroup);
        Assert.Equal(2, health.AssignedPartitions);
        Assert.Equal(2, _metrics.Assigned.Value);
        Assert.Equal(1, Value(_metrics.Rebalances, "assigned"));
        Assert.True(assignments.Owns(P(0)) && assignments.Owns(P(1)));
    }

    [Fact]
    public void StoreCompleted_Checkpointed_StoresOnlyOnceAllowed()
    {
        var assignments = Assignments(out _);
        assignments.Checkpointed = true;
        assignments.Assign([P(0)]);
        var consumer = FakeGroupConsumer.Create(out var fake);
        Finish(assignments.TrackerFor(P(0)), 0, 1, 2);

        assignments.StoreCompleted(consumer);
        Assert.Empty(fake.Stored); // no checkpoint covers them yet

        assignments.AllowAll();
        assignments.StoreCompleted(consumer);
        Assert.Equal([new TopicPartitionOffset(P(0), 3)], fake.Stored);
    }

    [Fact]
    public void StoreCompleted_NotCheckpointed_StoresEachMoveOnce()
    {
        var assignments = Assignments(out _);
        assignments.Assign([P(0)]);
        var consumer = FakeGroupConsumer.Create(out var fake);
        Finish(assignments.TrackerFor(P(0)), 5);

        assignments.StoreCompleted(consumer);
        assignments.StoreCompleted(consumer);

        Assert.Equal([new TopicPartitionOffset(P(0), 6)], fake.Stored);
    }

    [Fact]
    public void StoreCompleted_OnePartitionsStoreFails_OthersStillStored()
    {
        var assignments = Assignments(out _);
        assignments.Assign([P(0), P(1)]);
        var consumer = FakeGroupConsumer.Create(out var fake);
        fake.StoreFails.Add(P(0));
        Finish(assignments.TrackerFor(P(0)), 0);
        Finish(assignments.TrackerFor(P(1)), 0);

        assignments.StoreCompleted(consumer);

        Assert.Equal([new TopicPartitionOffset(P(1), 1)], fake.Stored);
    }

    [Fact]
    public void Release_Revoked_ReturnsCommittablePositionsAndLateCompletionsAreIgnored()
    {
        var assignments = Assignments(out var health);
        assignments.Assign([P(0), P(1)]);
        var tracker = assignments.TrackerFor(P(0));
        Finish(tracker, 0, 1);
        tracker.Track(2); // still with detection

        var committable = assignments.Release([new TopicPartitionOffset(P(0), Offset.Unset)], "revoked");

        Assert.Equal([new TopicPartitionOffset(P(0), 2)], committable);
        Assert.True(tracker.Revoked);
        Assert.False(assignments.Owns(P(0)));
        Assert.Equal(1, health.AssignedPartitions);
        Assert.Equal(1, Value(_metrics.Rebalances, "revoked"));
        Assert.NotSame(tracker, assignments.TrackerFor(P(0))); // a late message starts a fresh tracker
    }

    [Fact]
    public void AllowAll_RevokedPartitionsOnly_OthersStillWaitForTheirCheckpoint()
    {
        var assignments = Assignments(out _);
        assignments.Checkpointed = true;
        assignments.Assign([P(0), P(1)]);
        Finish(assignments.TrackerFor(P(0)), 0);
        Finish(assignments.TrackerFor(P(1)), 0);

        assignments.AllowAll([new TopicPartitionOffset(P(0), Offset.Unset)]);

        Assert.True(assignments.TrackerFor(P(0)).TryTakeCommittable(out _));
        Assert.False(assignments.TrackerFor(P(1)).TryTakeCommittable(out _));
    }

    [Fact]
    public void Commit_NothingNew_IsNoErrorAndNotCounted()
    {
        var assignments = Assignments(out _);
        var consumer = FakeGroupConsumer.Create(out var fake);
        fake.CommitErrors.Enqueue(ErrorCode.Local_NoOffset);

        Assert.Equal(ErrorCode.NoError, assignments.Commit(consumer, []));
        Assert.Equal(0, Value(_metrics.Commits, "ok") + Value(_metrics.Commits, "failed"));
    }

    [Fact]
    public void Commit_Refused_ReturnsTheCodeAndCountsAFailure()
    {
        var assignments = Assignments(out _);
        var consumer = FakeGroupConsumer.Create(out var fake);
        fake.CommitErrors.Enqueue(ErrorCode.RebalanceInProgress);

        Assert.Equal(ErrorCode.RebalanceInProgress, assignments.Commit(consumer, [new TopicPartitionOffset(P(0), 4)]));
        Assert.Equal(1, Value(_metrics.Commits, "failed"));
        Assert.Empty(fake.Commits);
    }

    [Fact]
    public void CommitOnLeaving_RebalanceInProgressTwice_PollsTheGroupAndCommitsAgain()
    {
        var assignments = Assignments(out _);
        var consumer = FakeGroupConsumer.Create(out var fake);
        fake.CommitErrors.Enqueue(ErrorCode.RebalanceInProgress);
        fake.CommitErrors.Enqueue(ErrorCode.IllegalGeneration);

        assignments.CommitOnLeaving(consumer, TimeSpan.FromSeconds(5));

        Assert.Equal(2, fake.Polls);
        Assert.Single(fake.Commits);
        Assert.Equal(1, Value(_metrics.Commits, "ok"));
    }

    [Fact]
    public void CommitOnLeaving_RebalanceNeverSettles_GivesUpWhenTheBudgetIsSpent()
    {
        var assignments = Assignments(out _);
        var consumer = FakeGroupConsumer.Create(out var fake);
        for (var i = 0; i < 100; i++)
        {
            fake.CommitErrors.Enqueue(ErrorCode.RebalanceInProgress);
        }

        fake.OnPoll = () => _time.Advance(TimeSpan.FromSeconds(1));

        assignments.CommitOnLeaving(consumer, TimeSpan.FromSeconds(3));

        Assert.Equal(3, fake.Polls);
        Assert.Empty(fake.Commits);
    }
}
