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

    /// <summary>A falcosidekick-forwarded "Terminal shell in container" alert (Falco 0.39 output fields, tags, hostname).</summary>
    public static readonly byte[] FalcoShell = Encoding.UTF8.GetBytes("""
        {"uuid":"6c3f2b1e-1d9a-4a0e-9a53-0f1b2c3d4e5f","output":"09:12:31.123456789: Notice A shell was spawned in a container with an attached terminal (evt_type=execve user=root user_uid=0 user_loginuid=-1 process=bash proc_exepath=/usr/bin/bash parent=runc command=bash -il terminal=34816 exe_flags=EXE_WRITABLE container_id=58572e15b889 container_image=docker.io/library/nginx container_image_tag=1.27.2 container_name=nginx k8s_ns=shop k8s_pod_name=frontend-9bd4dz2d9c-r97jb)","priority":"Notice","rule":"Terminal shell in container","time":"2026-11-30T09:12:31.123456789Z","source":"syscall","hostname":"shop-prod-node-a","tags":["T1059","container","maturity_stable","mitre_execution","shell"],"output_fields":{"container.id":"58572e15b889","container.image.repository":"docker.io/library/nginx","container.image.tag":"1.27.2","container.name":"nginx","evt.arg.flags":"EXE_WRITABLE","evt.time":1795597951123456789,"evt.type":"execve","k8s.ns.name":"shop","k8s.pod.name":"frontend-9bd4dz2d9c-r97jb","proc.cmdline":"bash -il","proc.exepath":"/usr/bin/bash","proc.name":"bash","proc.pexepath":"/usr/bin/runc","proc.pid":31337,"proc.ppid":31300,"proc.pname":"runc","proc.tty":34816,"user.loginuid":-1,"user.name":"root","user.uid":0}}
        """);

    /// <summary>A Falco outbound-connection alert: the connection in fd.name (client:port->server:port), L4 protocol, server side flag.</summary>
    public static readonly byte[] FalcoConnect = Encoding.UTF8.GetBytes("""
        {"output":"09:12:40.000000000: Notice Unexpected outbound connection (connection=10.244.0.11:51805->31.188.239.177:4444 process=python3 container_id=cd7fc9364ce0)","priority":"Notice","rule":"Unexpected outbound connection destination","time":"2026-11-30T09:12:40.000000000Z","source":"syscall","hostname":"shop-prod-node-b","tags":["T1041","container","network","mitre_exfiltration"],"output_fields":{"container.id":"cd7fc9364ce0","container.image.repository":"ghcr.io/acme/shop-api","container.image.tag":"3.14.1","container.name":"api","evt.type":"connect","fd.l4proto":"tcp","fd.name":"10.244.0.11:51805->31.188.239.177:4444","fd.is_server":false,"k8s.ns.name":"shop","k8s.pod.name":"api-f2xz46z557-pqqp6","proc.cmdline":"python3 -c import socket","proc.exepath":"/usr/local/bin/python3.11","proc.name":"python3","proc.pid":20007,"proc.ppid":20004,"proc.pname":"gunicorn","user.uid":1000}}
        """);

    /// <summary>A Tracee v1beta1 security_file_open event (protobuf-JSON: timestamp object, workload.process/container/k8s, typed data).</summary>
    public static readonly byte[] TraceeFileOpen = Encoding.UTF8.GetBytes("""
        {"timestamp":{"seconds":"1795597951","nanos":123456789},"id":"security_file_open","name":"security_file_open","workload":{"process":{"executable":{"path":"/usr/local/bin/python3.11"},"unique_id":{"value":2815214473},"host_pid":{"value":20007},"pid":{"value":7},"real_user":{"id":{"value":1000}},"thread":{"start_time":"2026-11-27T22:00:00.402Z","name":"gunicorn","unique_id":{"value":2815214473},"host_tid":{"value":20007},"tid":{"value":7},"syscall":"openat"},"ancestors":[{"unique_id":{"value":1230941},"host_pid":{"value":20004},"pid":{"value":1},"executable":{"path":"/usr/local/bin/python3.11"}}]},"container":{"id":"cd7fc9364ce0d5474edabe41bad52c029e1c558045c072899bb6062b744ffc91","name":"api","image":{"id":"sha256:9ecdf2d113af","name":"ghcr.io/acme/shop-api:3.14.1","digest":"sha256:9ecdf2d113afa7f33730c62572df461df76c05b3b17b34e66b91513c5aa2be60"},"started":true},"k8s":{"pod":{"name":"api-f2xz46z557-pqqp6","uid":"3f2c9a1e-2d1b-4c55-9a3e-7d8e6f5a4b3c"},"namespace":{"name":"shop"}}},"data":[{"name":"pathname","str":"/app/shop/settings.py"},{"name":"flags","str":"O_RDONLY|O_CLOEXEC"},{"name":"dev","u_int32":264241153},{"name":"inode","u_int64":"1837291"},{"name":"ctime","u_int64":"1795580000000000000"},{"name":"syscall_pathname","str":"/app/shop/settings.py"}],"policies":{"matched":["file-access"]},"node":{"name":"shop-prod-node-b"}}
        """);

    /// <summary>A Tracee legacy (flat) sched_process_exec event with argv.</summary>
    public static readonly byte[] TraceeExec = Encoding.UTF8.GetBytes("""
        {"timestamp":1795597951123456789,"threadStartTime":1795597951120000000,"processorId":1,"processId":7,"cgroupId":10592,"threadId":7,"parentProcessId":1,"hostProcessId":20007,"hostThreadId":20007,"hostParentProcessId":20004,"userId":1000,"mountNamespace":4026532505,"pidNamespace":4026532506,"processName":"gunicorn","executable":{"path":"/usr/local/bin/python3.11"},"hostName":"shop-prod-node-b","containerId":"cd7fc9364ce0d5474edabe41bad52c029e1c558045c072899bb6062b744ffc91","container":{"id":"cd7fc9364ce0d5474edabe41bad52c029e1c558045c072899bb6062b744ffc91","name":"api","image":"ghcr.io/acme/shop-api:3.14.1","imageDigest":"sha256:9ecdf2d113afa7f33730c62572df461df76c05b3b17b34e66b91513c5aa2be60"},"kubernetes":{"podName":"api-f2xz46z557-pqqp6","podNamespace":"shop","podUID":"3f2c9a1e-2d1b-4c55-9a3e-7d8e6f5a4b3c"},"eventId":"715","eventName":"sched_process_exec","matchedPolicies":["exec"],"argsNum":4,"returnValue":0,"syscall":"execve","args":[{"name":"cmdpath","type":"const char*","value":"/usr/local/bin/gunicorn"},{"name":"pathname","type":"const char*","value":"/usr/local/bin/python3.11"},{"name":"argv","type":"const char**","value":["/usr/local/bin/gunicorn","shop.wsgi:application","--bind","0.0.0.0:8000","--workers","3"]},{"name":"interpreter_pathname","type":"const char*","value":""}]}
        """);

    /// <summary>A Hubble TCP flow (hubble observe -o json): endpoints with Cilium labels and workloads, SYN, egress, trace observation point.</summary>
    public static readonly byte[] HubbleTcp = Encoding.UTF8.GetBytes("""
        {"flow":{"time":"2026-11-30T09:12:31.123456789Z","uuid":"1c2d3e4f-5a6b-4c7d-8e9f-0a1b2c3d4e5f","verdict":"FORWARDED","ethernet":{"source":"6a:1b:2c:3d:4e:5f","destination":"7a:1b:2c:3d:4e:5f"},"IP":{"source":"10.244.0.11","destination":"10.244.1.23","ipVersion":"IPv4"},"l4":{"TCP":{"source_port":51805,"destination_port":5432,"flags":{"SYN":true}}},"source":{"ID":1711,"identity":29898,"namespace":"shop","labels":["k8s:app=api","k8s:io.cilium.k8s.namespace.labels.kubernetes.io/metadata.name=shop","k8s:io.cilium.k8s.policy.cluster=default","k8s:io.cilium.k8s.policy.serviceaccount=api","k8s:io.kubernetes.pod.namespace=shop","k8s:tier=backend"],"pod_name":"api-f2xz46z557-pqqp6","workloads":[{"name":"api","kind":"Deployment"}]},"destination":{"ID":3211,"identity":41124,"namespace":"shop","labels":["k8s:app=postgres","k8s:io.cilium.k8s.policy.cluster=default","k8s:io.kubernetes.pod.namespace=shop"],"pod_name":"postgres-0","workloads":[{"name":"postgres","kind":"StatefulSet"}]},"Type":"L3_L4","node_name":"shop-prod-node-b","event_type":{"type":4,"sub_type":3},"traffic_direction":"EGRESS","trace_observation_point":"TO_STACK","is_reply":false,"Summary":"TCP Flags: SYN"},"node_name":"shop-prod-node-b","time":"2026-11-30T09:12:31.123456789Z"}
        """);

    /// <summary>A Hubble L7 DNS response with answers, seen at the requesting pod.</summary>
    public static readonly byte[] HubbleDns = Encoding.UTF8.GetBytes("""
        {"flow":{"time":"2026-11-30T09:12:31.223456789Z","verdict":"FORWARDED","IP":{"source":"10.96.0.10","destination":"10.244.0.11","ipVersion":"IPv4"},"l4":{"UDP":{"source_port":53,"destination_port":41000}},"source":{"namespace":"kube-system","labels":["k8s:k8s-app=kube-dns"],"pod_name":"coredns-5d78c9869d-x7k2p","workloads":[{"name":"coredns","kind":"Deployment"}]},"destination":{"ID":1711,"identity":29898,"namespace":"shop","labels":["k8s:app=api","k8s:tier=backend"],"pod_name":"api-f2xz46z557-pqqp6","workloads":[{"name":"api","kind":"Deployment"}]},"Type":"L7","node_name":"shop-prod-node-b","l7":{"type":"RESPONSE","latency_ns":"2180000","dns":{"query":"api.paygate.example.","ips":["198.51.100.7","198.51.100.8"],"ttl":30,"cnames":[],"rcode":0,"qtypes":["A"],"rrtypes":["A"]}},"traffic_direction":"INGRESS","is_reply":true,"Summary":"DNS Answer \"198.51.100.7,198.51.100.8\" TTL: 30 (Proxy api.paygate.example. A)"},"node_name":"shop-prod-node-b","time":"2026-11-30T09:12:31.223456789Z"}
        """);

    /// <summary>A Hubble 0.5 flow (Go encoding/json: numeric enums, {seconds, nanos}, the l4.Protocol oneof wrapper).</summary>
    public static readonly byte[] HubbleGoJson = Encoding.UTF8.GetBytes("""
        {"time":{"seconds":1591009260,"nanos":361284102},"verdict":1,"ethernet":{"source":"ae:2a:1e:41:4c:c4","destination":"b2:7a:14:e3:54:1c"},"IP":{"source":"10.16.3.45","destination":"93.184.216.34","ipVersion":1},"l4":{"Protocol":{"TCP":{"source_port":46412,"destination_port":443,"flags":{"SYN":true}}}},"source":{"ID":2317,"identity":41731,"namespace":"shop","labels":["k8s:app=checkout","k8s:io.cilium.k8s.policy.cluster=default","k8s:io.kubernetes.pod.namespace=shop"],"pod_name":"checkout-5c8d7f9b6-2xkqp"},"destination":{"identity":2,"labels":["reserved:world"]},"Type":1,"node_name":"gke-prod-pool-1-a1b2","event_type":{"type":4,"sub_type":3},"Summary":"TCP Flags: SYN"}
        """);

    /// <summary>A Tracee net_packet_dns_request: the question in dns_questions.</summary>
    public static readonly byte[] TraceeDnsQuestions = Encoding.UTF8.GetBytes("""
        {"timestamp":1696255905516744399,"threadStartTime":1696255905414902888,"processorId":3,"processId":27,"cgroupId":7812,"threadId":27,"parentProcessId":1,"hostProcessId":412771,"hostThreadId":412771,"hostParentProcessId":412702,"userId":0,"mountNamespace":4026532841,"pidNamespace":4026532844,"processName":"python3","hostName":"worker-1","executable":{"path":"/usr/local/bin/python3.11"},"containerId":"cd7fc9364ce0d5474edabe41bad52c029e1c558045c072899bb6062b744ffc91","container":{"id":"cd7fc9364ce0d5474edabe41bad52c029e1c558045c072899bb6062b744ffc91","name":"api","image":"ghcr.io/acme/shop-api:3.14.1","imageDigest":"sha256:9ecdf2d113afa7f33730c62572df461df76c05b3b17b34e66b91513c5aa2be60"},"kubernetes":{"podName":"api-f2xz46z557-pqqp6","podNamespace":"shop","podUID":"3f2c9a1e-2d1b-4c55-9a3e-7d8e6f5a4b3c"},"matchedPolicies":["net"],"syscall":"sendto","contextFlags":{"containerStarted":true,"isCompat":false},"eventId":"0","eventName":"net_packet_dns_request","argsNum":2,"returnValue":0,"stackAddresses":null,"args":[{"name":"metadata","type":"trace.PktMeta","value":{"src_ip":"10.244.0.11","dst_ip":"10.96.0.10","src_port":41000,"dst_port":53,"protocol":17,"packet_len":76,"iface":"any"}},{"name":"dns_questions","type":"[]trace.DnsQueryData","value":[{"query":"api.paygate.example","query_type":"A","query_class":"IN"}]}]}
        """);

    /// <summary>A Tetragon sys_enter_openat tracepoint with the filename as a string argument.</summary>
    public static readonly byte[] TetragonOpenatTracepoint = Encoding.UTF8.GetBytes("""
        {"process_tracepoint":{"process":{"exec_id":"a2luZC1jb250cm9sLXBsYW5lOjEyMzQ1Njc4OTo1MjY5OQ==","pid":52699,"uid":0,"cwd":"/","binary":"/usr/bin/cat","arguments":"/etc/shadow","flags":"execve clone","start_time":"2023-05-01T10:00:00Z","auid":4294967295,"pod":{"namespace":"default","name":"xwing","container":{"id":"containerd://2e6b1e5f8d9c4b3a2f1e0d9c8b7a6f5e4d3c2b1a0f9e8d7c6b5a4f3e2d1c0b9a","name":"spaceship","image":{"id":"docker.io/tgraf/netperf@sha256:8e86f744bfea165fd4ce68caa05abc96500f40130b857773186401926af7e9e6","name":"docker.io/tgraf/netperf:latest"},"start_time":"2023-05-01T09:00:00Z","pid":12},"pod_labels":{"app.kubernetes.io/name":"xwing","class":"xwing","org":"alliance"},"workload":"xwing","workload_kind":"Pod"},"docker":"2e6b1e5f8d9c4b3","parent_exec_id":"a2luZC1jb250cm9sLXBsYW5lOjEyMzQwMDAwMDo1MjY5MA==","tid":52699},"parent":{"exec_id":"a2luZC1jb250cm9sLXBsYW5lOjEyMzQwMDAwMDo1MjY5MA==","pid":52690,"uid":0,"cwd":"/","binary":"/bin/bash","flags":"execve clone","start_time":"2023-05-01T09:59:00Z","auid":4294967295,"pod":{"namespace":"default","name":"xwing","container":{"id":"containerd://2e6b1e5f8d9c4b3a2f1e0d9c8b7a6f5e4d3c2b1a0f9e8d7c6b5a4f3e2d1c0b9a","name":"spaceship","image":{"id":"docker.io/tgraf/netperf@sha256:8e86f744bfea165fd4ce68caa05abc96500f40130b857773186401926af7e9e6","name":"docker.io/tgraf/netperf:latest"},"start_time":"2023-05-01T09:00:00Z","pid":12},"pod_labels":{"app.kubernetes.io/name":"xwing","class":"xwing","org":"alliance"},"workload":"xwing","workload_kind":"Pod"},"docker":"2e6b1e5f8d9c4b3","parent_exec_id":"a2luZC1jb250cm9sLXBsYW5lOjEyMzAwMDAwMDo1MjYwMA==","tid":52690},"subsys":"syscalls","event":"sys_enter_openat","args":[{"int_arg":-100},{"string_arg":"/etc/shadow"},{"int_arg":0}],"policy_name":"sys-openat","action":"KPROBE_ACTION_POST"},"node_name":"kind-control-plane","time":"2023-05-01T10:00:00.123456789Z"}
        """);

    private readonly IEventFormat _tetragon = EventFormats.Create("tetragon");
    private readonly IEventFormat _falco = EventFormats.Create("falco");
    private readonly IEventFormat _tracee = EventFormats.Create("tracee");
    private readonly IEventFormat _hubble = EventFormats.Create("hubble");

    [GlobalSetup]
    public void Setup()
    {
        TetragonKprobe();
        TetragonProcessExec();
        FalcoShellAlert();
        FalcoConnectAlert();
        TraceeCurrentFileOpen();
        TraceeLegacyExec();
        HubbleTcpFlow();
        HubbleDnsResponse();
        HubbleLegacyFlow();
        TraceeDnsRequest();
        TetragonTracepoint();
    }

    [Benchmark]
    public EventKind TetragonKprobe() => Decode(_tetragon, TetragonSendmsg);

    [Benchmark]
    public EventKind TetragonProcessExec() => Decode(_tetragon, TetragonExec);

    [Benchmark]
    public EventKind FalcoShellAlert() => Decode(_falco, FalcoShell);

    [Benchmark]
    public EventKind FalcoConnectAlert() => Decode(_falco, FalcoConnect);

    [Benchmark]
    public EventKind TraceeCurrentFileOpen() => Decode(_tracee, TraceeFileOpen);

    [Benchmark]
    public EventKind TraceeLegacyExec() => Decode(_tracee, TraceeExec);

    [Benchmark]
    public EventKind HubbleTcpFlow() => Decode(_hubble, HubbleTcp);

    [Benchmark]
    public EventKind HubbleDnsResponse() => Decode(_hubble, HubbleDns);

    [Benchmark]
    public EventKind HubbleLegacyFlow() => Decode(_hubble, HubbleGoJson);

    [Benchmark]
    public EventKind TraceeDnsRequest() => Decode(_tracee, TraceeDnsQuestions);

    [Benchmark]
    public EventKind TetragonTracepoint() => Decode(_tetragon, TetragonOpenatTracepoint);

    private static EventKind Decode(IEventFormat format, byte[] bytes) =>
        format.Decode(bytes, out var e, out var error, out _) == DecodeStatus.Event ? e.Kind : throw new InvalidOperationException(error.ToString());
}
