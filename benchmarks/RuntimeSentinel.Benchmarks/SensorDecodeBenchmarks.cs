using System.Text;
using BenchmarkDotNet.Attributes;
using RuntimeSentinel.Core.Events;
using RuntimeSentinel.Formats;

namespace RuntimeSentinel.Benchmarks;

/// <summary>
/// Decoding what sensors publish, through the guarded decoder a topic uses (UTF-8 check, size limit, schema check).
/// Messages as a Tetragon network-observability policy writes them (≈ 2 KB, pod, parent, socket and size arguments).
/// Steady state: a node repeats the same pods, binaries and functions, so nothing is allocated per event.
/// </summary>
[MemoryDiagnoser]
public class SensorDecodeBenchmarks
{
    /// <summary>tcp_sendmsg on a socket nginx accepted (server side), with the byte count.</summary>
    public static readonly byte[] TetragonSendmsg = Encoding.UTF8.GetBytes("""
        {"process_kprobe":{"process":{"exec_id":"c2hvcC1wcm9kLW5vZGUtYToxNzk1NTgyODAwMDMxMDAwMDA1OjIwMDA1","pid":20005,"uid":101,"cwd":"/","binary":"/usr/sbin/nginx","arguments":"-g daemon off;","flags":"clone","start_time":"2026-11-25T05:00:00.0310000Z","auid":4294967295,"pod":{"namespace":"shop","name":"frontend-9bd4dz2d9c-r97jb","container":{"id":"containerd://58572e15b889855c137ff67c7fa9b80ec311b0a9212471c384664d2bba551ead","name":"nginx","image":{"id":"docker.io/library/nginx@sha256:56808de8570db1e5f700b1ddfa246f18bfd8141d90447c52c10d0d887dc6871d","name":"docker.io/library/nginx:1.27.2"},"start_time":"2026-11-25T05:00:00.0000000Z","pid":3},"pod_labels":{"app":"frontend","tier":"web"},"workload":"frontend","workload_kind":"Deployment"},"docker":"58572e15b889855c137ff67c7fa9b80","parent_exec_id":"c2hvcC1wcm9kLW5vZGUtYToxNzk1NTgyODAwMDAwMDAwMDAzOjIwMDAz","tid":20005},"parent":{"exec_id":"c2hvcC1wcm9kLW5vZGUtYToxNzk1NTgyODAwMDAwMDAwMDAzOjIwMDAz","pid":20003,"uid":0,"cwd":"/","binary":"/usr/sbin/nginx","arguments":"-g daemon off;","flags":"execve clone","start_time":"2026-11-25T05:00:00.0000000Z","auid":4294967295,"pod":{"namespace":"shop","name":"frontend-9bd4dz2d9c-r97jb","container":{"id":"containerd://58572e15b889855c137ff67c7fa9b80ec311b0a9212471c384664d2bba551ead","name":"nginx","image":{"id":"docker.io/library/nginx@sha256:56808de8570db1e5f700b1ddfa246f18bfd8141d90447c52c10d0d887dc6871d","name":"docker.io/library/nginx:1.27.2"},"start_time":"2026-11-25T05:00:00.0000000Z","pid":1},"pod_labels":{"app":"frontend","tier":"web"},"workload":"frontend","workload_kind":"Deployment"},"docker":"58572e15b889855c137ff67c7fa9b80","parent_exec_id":"c2hvcC1wcm9kLW5vZGUtYToxNzk0OTYzNjAwMDAwMDAwODAwOjE4MDA=","tid":20003},"function_name":"tcp_sendmsg","args":[{"sock_arg":{"family":"AF_INET","type":"SOCK_STREAM","protocol":"IPPROTO_TCP","mark":0,"priority":0,"saddr":"10.244.0.11","daddr":"31.188.239.177","sport":8080,"dport":51805,"cookie":"3439887272","state":"TCP_ESTABLISHED"}},{"int_arg":47860}],"action":"KPROBE_ACTION_POST","policy_name":"network-observability"},"node_name":"shop-prod-node-a","time":"2026-11-30T01:00:00.1080000Z"}
        """);

    /// <summary>A gunicorn worker found at sensor start (procFS inventory).</summary>
    public static readonly byte[] TetragonExec = Encoding.UTF8.GetBytes("""
        {"process_exec":{"process":{"exec_id":"c2hvcC1wcm9kLW5vZGUtYjoxNzk1ODE2ODAwNDAyMDAwMDA3OjIwMDA3","pid":20007,"uid":1000,"cwd":"/app","binary":"/usr/local/bin/python3.11","arguments":"/usr/local/bin/gunicorn shop.wsgi:application --bind 0.0.0.0:8000 --workers 3","flags":"procFS auid rootcwd","start_time":"2026-11-27T22:00:00.4020000Z","auid":4294967295,"pod":{"namespace":"shop","name":"api-f2xz46z557-pqqp6","container":{"id":"containerd://cd7fc9364ce0d5474edabe41bad52c029e1c558045c072899bb6062b744ffc91","name":"api","image":{"id":"ghcr.io/acme/shop-api@sha256:9ecdf2d113afa7f33730c62572df461df76c05b3b17b34e66b91513c5aa2be60","name":"ghcr.io/acme/shop-api:3.14.1"},"start_time":"2026-11-27T22:00:00.0000000Z","pid":4},"pod_labels":{"app":"api","tier":"backend"},"workload":"api","workload_kind":"Deployment"},"docker":"cd7fc9364ce0d5474edabe41bad52c0","parent_exec_id":"c2hvcC1wcm9kLW5vZGUtYjoxNzk1ODE2ODAwMDAwMDAwMDA0OjIwMDA0","tid":20007},"parent":{"exec_id":"c2hvcC1wcm9kLW5vZGUtYjoxNzk1ODE2ODAwMDAwMDAwMDA0OjIwMDA0","pid":20004,"uid":1000,"cwd":"/app","binary":"/usr/local/bin/python3.11","arguments":"/usr/local/bin/gunicorn shop.wsgi:application --bind 0.0.0.0:8000 --workers 3","flags":"execve clone","start_time":"2026-11-27T22:00:00.0000000Z","auid":4294967295,"pod":{"namespace":"shop","name":"api-f2xz46z557-pqqp6","container":{"id":"containerd://cd7fc9364ce0d5474edabe41bad52c029e1c558045c072899bb6062b744ffc91","name":"api","image":{"id":"ghcr.io/acme/shop-api@sha256:9ecdf2d113afa7f33730c62572df461df76c05b3b17b34e66b91513c5aa2be60","name":"ghcr.io/acme/shop-api:3.14.1"},"start_time":"2026-11-27T22:00:00.0000000Z","pid":1},"pod_labels":{"app":"api","tier":"backend"},"workload":"api","workload_kind":"Deployment"},"docker":"cd7fc9364ce0d5474edabe41bad52c0","parent_exec_id":"c2hvcC1wcm9kLW5vZGUtYjoxNzk0OTYzNjAwMDAwMDAwODAxOjE4MDE=","tid":20004}},"node_name":"shop-prod-node-b","time":"2026-11-27T22:00:00.4020000Z"}
        """);

    private readonly IEventFormat _tetragon = EventFormats.Create("tetragon");

    [GlobalSetup]
    public void Setup()
    {
        TetragonKprobe();
        TetragonProcessExec();
    }

    [Benchmark]
    public EventKind TetragonKprobe() => Decode(_tetragon, TetragonSendmsg);

    [Benchmark]
    public EventKind TetragonProcessExec() => Decode(_tetragon, TetragonExec);

    private static EventKind Decode(IEventFormat format, byte[] bytes) =>
        format.Decode(bytes, out var e, out var error, out _) == DecodeStatus.Event ? e.Kind : throw new InvalidOperationException(error.ToString());
}
