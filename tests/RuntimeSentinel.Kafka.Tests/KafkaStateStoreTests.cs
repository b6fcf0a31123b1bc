using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Prometheus;
using RuntimeSentinel.Core.Workloads;
using RuntimeSentinel.Detection;
using RuntimeSentinel.Detection.Baseline;
using RuntimeSentinel.Detection.Workloads;
using RuntimeSentinel.TestCommon;

namespace RuntimeSentinel.Kafka.Tests;

public sealed class KafkaStateStoreTests
{
    private static WorkloadKey Key(string workload) => WorkloadKey.TryParse(workload, out var k) ? k : throw new ArgumentException(workload);

    private static byte[] Checkpoint(string workload, int items, DateTimeOffset at)
    {
        var b = new WorkloadBaseline(new DetectionOptions(), Some.Time);
        for (var i = 0; i < items; i++)
        {
            b.Observe(Some.Exec("/usr/bin/tool" + i), null, Some.Time, []);
        }

        return WorkloadCheckpoint.Write(workload, b, null, at);
    }

    private static (KafkaStateStore Store, KafkaConnection Connection, CollectorRegistry Registry) Store(MockKafkaCluster cluster, string? directory, int maxMiB = 32, NodeMemoryBudget? memory = null)
    {
        var options = Options.Create(new KafkaOptions { BootstrapServers = cluster.BootstrapServers, Topics = ["events"], StateDirectory = directory, StateDirectoryMaxMiB = maxMiB });
        var connection = new KafkaConnection(options, NullLogger<KafkaConnection>.Instance);
        var registry = Metrics.NewCustomRegistry();
        return (new KafkaStateStore(options, connection, Metrics.WithCustomRegistry(registry), new Core.Health.HealthRegistry(), NullLogger<KafkaStateStore>.Instance, memory?.Budget), connection, registry);
    }

    [Fact]
    public async Task StartAsync_NewClusterSameNode_WorkloadsComeBackFromTheLocalCopyHostileFilesIgnored()
    {
        using var temp = new TempFolder("state-local-");
        var workloads = Enumerable.Range(0, 20).Select(i => $"prod/shop/Deployment/svc{i}/app").ToList();
        using (var cluster = new MockKafkaCluster())
        {
            cluster.CreateTopic("sentinel.state", 3);
            var (store, connection, _) = Store(cluster, temp.Path);
            using (connection)
            using (store)
            {
                await store.StartAsync(default);
                foreach (var w in workloads)
                {
                    store.Save(Key(w), Checkpoint(w, 3, Some.Time));
                }

                // A newer checkpoint of one workload replaces its file.
                store.Save(Key(workloads[0]), Checkpoint(workloads[0], 9, Some.Time.AddMinutes(5)));
                Assert.True(store.Flush(TimeSpan.FromSeconds(10)));
            }
        }

        // Garbage beside the copies: a file that is not a checkpoint, and a checkpoint under another workload's name.
        await File.WriteAllBytesAsync(Path.Combine(temp.Path, "0123456789abcdef01234567.ckpt"), [3, 0, (byte)'a', (byte)'b', (byte)'c', 1, 2, 3]);
        var stolen = Directory.GetFiles(temp.Path, "*.ckpt").First(f => !f.Contains("0123456789", StringComparison.Ordinal));
        File.Copy(stolen, Path.Combine(temp.Path, "ffffffffffffffffffffffff.ckpt"));

        // The embedded cluster is gone with its process; a new one has an empty state topic.
        using var fresh = new MockKafkaCluster();
        fresh.CreateTopic("sentinel.state", 3);
        var (again, connection2, registry) = Store(fresh, temp.Path);
        using (connection2)
        using (again)
        {
            await again.StartAsync(default);
            Assert.Equal(20, again.Count);
            var first = WorkloadCheckpoint.Read(again.Find(Key(workloads[0]))!, new DetectionOptions());
            Assert.Equal(9, first.Baseline.Counter(Feature.Exec).Count); // the newer one
            Assert.All(workloads, w => Assert.Equal(w, WorkloadCheckpoint.Read(again.Find(Key(w))!, new DetectionOptions()).Workload));
            var exposition = Exposition.Export(registry);
            Assert.Equal(20, Exposition.Sum(exposition, "sentinel_state_records_total", "local"));
            Assert.Equal(2, Exposition.Sum(exposition, "sentinel_state_records_total", "ignored"));
        }
    }

    [Fact]
    public async Task Save_LocalCopyOverItsBound_NewWorkloadsNotCopiedAndCounted()
    {
        using var temp = new TempFolder("state-local-full-");
        using var cluster = new MockKafkaCluster();
        cluster.CreateTopic("sentinel.state", 1);
        var (store, connection, registry) = Store(cluster, temp.Path, maxMiB: 1);
        using (connection)
        using (store)
        {
            await store.StartAsync(default);
            var big = Checkpoint("x", 2000, Some.Time);
            for (var i = 0; i < 200; i++)
            {
                store.Save(Key($"prod/shop/Deployment/big{i}/app"), big);
            }

            Assert.True(store.Flush(TimeSpan.FromSeconds(30)));
            var onDisk = Directory.GetFiles(temp.Path, "*.ckpt").Sum(f => new FileInfo(f).Length);
            Assert.InRange(onDisk, 1, 1 << 20);
            Assert.True(Exposition.Sum(Exposition.Export(registry), "sentinel_state_writes_total", "local_full") > 0);
        }
    }

    [Fact]
    public async Task Save_NodeMemoryBudgetSpent_TableKeepsWhatFitsAndCountsTheRest()
    {
        using var cluster = new MockKafkaCluster();
        cluster.CreateTopic("sentinel.state", 1);
        var memory = new NodeMemoryBudget(Options.Create(new DetectionOptions { MemoryBudgetMiB = 1 }));
        var (store, connection, registry) = Store(cluster, null, memory: memory);
        using (connection)
        using (store)
        {
            await store.StartAsync(default);
            var checkpoint = Checkpoint("x", 200, Some.Time);
            for (var i = 0; i < 1000; i++)
            {
                store.Save(Key($"prod/shop/Deployment/svc{i}/app"), checkpoint);
            }

            Assert.True(store.Flush(TimeSpan.FromSeconds(30)));
            Assert.InRange(memory.Budget.Used, (1L << 20) - checkpoint.Length, 1L << 20);
            Assert.Equal(memory.Budget.Used / checkpoint.Length, store.Count);
            Assert.True(Exposition.Sum(Exposition.Export(registry), "sentinel_state_records_total", "table_full") > 0);
        }
    }
}
