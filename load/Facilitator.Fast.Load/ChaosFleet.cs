namespace Facilitator.Fast.Load;

/// <summary>
/// The chaos run's two service instances (the AOT binary) sharing one Redis, and the load balancer in front of them:
/// a request goes to the instance it is meant for unless that one is down, then to the other. An instance can be
/// killed (SIGKILL) and started again on its port; each start is a new generation, so a request cut by a kill is told
/// apart from one that failed on a live instance.
/// </summary>
internal sealed class ChaosFleet : IAsyncDisposable
{
    private readonly string _binary;
    private readonly IReadOnlyDictionary<string, string> _environment;
    private readonly Instance[] _instances;

    private ChaosFleet(string binary, IReadOnlyDictionary<string, string> environment, Instance[] instances)
    {
        _binary = binary;
        _environment = environment;
        _instances = instances;
    }

    public int Count => _instances.Length;

    public static async Task<ChaosFleet> StartAsync(string binary, IReadOnlyDictionary<string, string> environment, int count)
    {
        var instances = new Instance[count];
        var fleet = new ChaosFleet(binary, environment, instances);
        try
        {
            for (var i = 0; i < count; i++)
            {
                instances[i] = new Instance(i, await ServiceProcess.StartAsync(binary, environment));
            }

            return fleet;
        }
        catch
        {
            await fleet.DisposeAsync();
            throw;
        }
    }

    public Instance this[int index] => _instances[index];

    /// <summary>The instance a request meant for <paramref name="preferred"/> reaches: that one, or the other while it is down.</summary>
    public Instance Route(int preferred)
    {
        var instance = _instances[preferred % _instances.Length];
        return instance.Up ? instance : _instances[(preferred + 1) % _instances.Length];
    }

    /// <summary><c>kill -9</c>: the balancer stops sending to the instance first, as it would on a failed health check.</summary>
    public async Task KillAsync(int index)
    {
        var instance = _instances[index];
        instance.Up = false;
        instance.NextGeneration();
        await instance.Service!.KillAsync();
        await instance.Service.DisposeAsync();
        instance.Service = null;
    }

    /// <summary>Starts the instance again on its port and takes it back into the balancer once ready.</summary>
    public async Task RestartAsync(int index)
    {
        var instance = _instances[index];
        instance.Service = await ServiceProcess.StartAsync(_binary, _environment, instance.Port);
        instance.Up = true;
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var instance in _instances)
        {
            if (instance?.Service is { } service)
            {
                await service.DisposeAsync();
            }

            instance?.Client.Dispose();
        }
    }

    /// <summary>One instance: its port (kept across restarts), a client to it, and whether the balancer sends to it.</summary>
    internal sealed class Instance
    {
        private volatile bool _up = true;
        private int _generation;
        private int _inFlight;

        public Instance(int index, ServiceProcess service)
        {
            Index = index;
            Service = service;
            Port = service.Port;
            Client = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = 256, PooledConnectionLifetime = TimeSpan.FromMinutes(5) })
            {
                BaseAddress = service.BaseAddress,
                Timeout = Timeout.InfiniteTimeSpan,
            };
        }

        public int Index { get; }

        public int Port { get; }

        public string Name => Index == 0 ? "A" : "B";

        public ServiceProcess? Service { get; set; }

        public HttpClient Client { get; }

        /// <summary>Whether the balancer sends to it.</summary>
        public bool Up
        {
            get => _up;
            set => _up = value;
        }

        /// <summary>How many times it was killed: a request that started in one generation and ended in another was cut by a kill.</summary>
        public int Generation => Volatile.Read(ref _generation);

        public void NextGeneration() => Interlocked.Increment(ref _generation);

        /// <summary>Requests sent to it and not answered yet.</summary>
        public int InFlight => Volatile.Read(ref _inFlight);

        public void Sending() => Interlocked.Increment(ref _inFlight);

        public void Answered() => Interlocked.Decrement(ref _inFlight);

        public Uri WebSocketUri => new($"ws://127.0.0.1:{Port}/ws");

        public override string ToString() => Name;
    }
}
