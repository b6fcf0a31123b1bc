using System.Runtime.InteropServices;

namespace RuntimeSentinel.Kafka;

/// <summary>
/// librdkafka's built-in mock cluster: real Kafka-protocol brokers on 127.0.0.1, in this process, reached through
/// P/Invoke. It backs the embedded mode (no Kafka configured) and the integration tests. Data lives in memory
/// (each partition keeps at most ~5 MiB); AdminClient topic creation does not work against it, so topics are
/// created through <see cref="CreateTopic"/>.
/// </summary>
public sealed partial class MockKafkaCluster : IDisposable
{
    private const string Lib = "rdkafka";
    private const int ProducerType = 0;

    private readonly IntPtr _rk;
    private readonly IntPtr _mc;
    private int _disposed;

    static MockKafkaCluster()
    {
        // The package's librdkafka.so links libsasl2.so.3, which Debian lacks; Confluent.Kafka then loads the
        // CentOS 8 build shipped beside it. Resolve our own imports the same way.
        NativeLibrary.SetDllImportResolver(typeof(MockKafkaCluster).Assembly, static (name, _, _) =>
        {
            if (name != Lib)
            {
                return IntPtr.Zero;
            }

            foreach (var dir in new[] { "", "runtimes/linux-x64/native/" })
            {
                foreach (var file in new[] { "librdkafka.so", "centos8-librdkafka.so" })
                {
                    if (NativeLibrary.TryLoad(Path.Combine(AppContext.BaseDirectory, dir + file), out var handle))
                    {
                        return handle;
                    }
                }
            }

            return IntPtr.Zero;
        });
    }

    public MockKafkaCluster(int brokers = 1)
    {
        var err = new byte[512];
        var conf = rd_kafka_conf_new();

        // The cluster's own handle never connects anywhere; silence its "no bootstrap.servers" notice.
        rd_kafka_conf_set(conf, "log_level", "3", err, (UIntPtr)err.Length);
        _rk = rd_kafka_new(ProducerType, conf, err, (UIntPtr)err.Length);
        if (_rk == IntPtr.Zero)
        {
            throw new InvalidOperationException("librdkafka could not create a handle for the mock cluster: " + System.Text.Encoding.UTF8.GetString(err).TrimEnd('\0'));
        }

        _mc = rd_kafka_mock_cluster_new(_rk, brokers);
        if (_mc == IntPtr.Zero)
        {
            rd_kafka_destroy(_rk);
            throw new InvalidOperationException("librdkafka could not start the mock cluster");
        }

        // The default 3 s initial rebalance delay only slows group joins in tests and demos.
        rd_kafka_mock_group_initial_rebalance_delay_ms(_mc, 0);
        BootstrapServers = Marshal.PtrToStringUTF8(rd_kafka_mock_cluster_bootstraps(_mc)) ?? throw new InvalidOperationException("mock cluster has no bootstrap address");
    }

    /// <summary>Comma-separated <c>127.0.0.1:port</c> of the brokers.</summary>
    public string BootstrapServers { get; }

    public void CreateTopic(string topic, int partitions, int replicationFactor = 1)
    {
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        var rc = rd_kafka_mock_topic_create(_mc, topic, partitions, replicationFactor);
        if (rc != 0)
        {
            throw new InvalidOperationException($"mock cluster could not create topic '{topic}' (error {rc})");
        }
    }

    /// <summary>
    /// Makes the cluster answer the next <paramref name="errors"/>.Length requests of one API (0 = Produce) with those
    /// Kafka error codes, in order: fault injection for tests (an unwritable dead-letter topic, say).
    /// </summary>
    public void FailNextRequests(short apiKey, params int[] errors)
    {
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        rd_kafka_mock_push_request_errors_array(_mc, apiKey, (UIntPtr)errors.Length, errors);
    }

    /// <summary>
    /// Drops the errors <see cref="FailNextRequests"/> queued for one API that no request has taken yet: a test that
    /// queues more than it needs can end the fault when it has seen its effect, instead of guessing how many it takes.
    /// </summary>
    public void ClearRequestErrors(short apiKey)
    {
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        rd_kafka_mock_clear_request_errors(_mc, apiKey);
    }

    /// <summary>Takes a broker (ids start at 1) down: its connections close and it accepts none until <see cref="SetBrokerUp"/>.</summary>
    public void SetBrokerDown(int brokerId)
    {
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        if (rd_kafka_mock_broker_set_down(_mc, brokerId) != 0)
        {
            throw new InvalidOperationException($"mock cluster has no broker {brokerId}");
        }
    }

    /// <summary>Brings a broker taken down by <see cref="SetBrokerDown"/> back.</summary>
    public void SetBrokerUp(int brokerId)
    {
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        if (rd_kafka_mock_broker_set_up(_mc, brokerId) != 0)
        {
            throw new InvalidOperationException($"mock cluster has no broker {brokerId}");
        }
    }

    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 0)
        {
            rd_kafka_mock_cluster_destroy(_mc);
            rd_kafka_destroy(_rk);
        }
    }

    [LibraryImport(Lib)]
    private static partial IntPtr rd_kafka_conf_new();

    [LibraryImport(Lib)]
    private static partial void rd_kafka_mock_push_request_errors_array(IntPtr mc, short apiKey, UIntPtr count, int[] errors);

    [LibraryImport(Lib)]
    private static partial void rd_kafka_mock_clear_request_errors(IntPtr mc, short apiKey);

    [LibraryImport(Lib, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int rd_kafka_conf_set(IntPtr conf, string name, string value, byte[] errstr, UIntPtr errstrSize);

    [LibraryImport(Lib)]
    private static partial IntPtr rd_kafka_new(int type, IntPtr conf, byte[] errstr, UIntPtr errstrSize);

    [LibraryImport(Lib)]
    private static partial void rd_kafka_destroy(IntPtr rk);

    [LibraryImport(Lib)]
    private static partial IntPtr rd_kafka_mock_cluster_new(IntPtr rk, int brokerCount);

    [LibraryImport(Lib)]
    private static partial IntPtr rd_kafka_mock_cluster_bootstraps(IntPtr mc);

    [LibraryImport(Lib, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int rd_kafka_mock_topic_create(IntPtr mc, string topic, int partitions, int replicationFactor);

    [LibraryImport(Lib)]
    private static partial void rd_kafka_mock_group_initial_rebalance_delay_ms(IntPtr mc, int delayMs);

    [LibraryImport(Lib)]
    private static partial void rd_kafka_mock_cluster_destroy(IntPtr mc);

    [LibraryImport(Lib)]
    private static partial int rd_kafka_mock_broker_set_down(IntPtr mc, int brokerId);

    [LibraryImport(Lib)]
    private static partial int rd_kafka_mock_broker_set_up(IntPtr mc, int brokerId);
}
