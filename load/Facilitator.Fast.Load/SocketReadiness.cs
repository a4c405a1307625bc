using System.Collections.Concurrent;
using System.Net.Sockets;
using System.Runtime.InteropServices;

namespace Facilitator.Fast.Load;

/// <summary>
/// Reads the event-stream subscribers' sockets the way <c>wrk</c> reads its connections: one thread per core blocked in
/// <c>epoll_wait</c>, level-triggered, which reads each ready socket once and hands its bytes to its subscriber on that
/// thread. The load client shares the service's cores, so every microsecond it spends per message is taken from what is
/// measured; .NET's own socket engine costs more per message (a read that finds nothing before every wait, and a hop to
/// the thread pool per completion).
/// </summary>
/// <remarks>
/// A socket given to <see cref="Add"/> must never have had an asynchronous operation: that would register it with .NET's
/// engine as well, and every message would wake both. Readiness carries a registration number, not the socket, so an
/// event that arrives after <see cref="Remove"/> finds nothing and is ignored.
/// </remarks>
internal sealed partial class SocketReadiness
{
    private const int EpollIn = 0x001;
    private const int EpollErr = 0x008;
    private const int EpollHup = 0x010;
    private const int EpollRdHup = 0x2000;
    private const int EpollCtlAdd = 1;
    private const int EpollCtlDel = 2;
    private const int EpollCloexec = 0x80000;
    private const int BatchSize = 256;

    private static readonly Lazy<SocketReadiness[]> Loops = new(() =>
        Enumerable.Range(0, Math.Max(Environment.ProcessorCount, 1)).Select(i => new SocketReadiness(i)).ToArray());

    private static int _next;

    private readonly int _epoll;
    private readonly ConcurrentDictionary<long, IReadyReader> _readers = new();
    private long _registrations;

    private SocketReadiness(int index)
    {
        if (!OperatingSystem.IsLinux() || RuntimeInformation.ProcessArchitecture != Architecture.X64)
        {
            throw new PlatformNotSupportedException("The load suite's subscribers read with epoll on x86-64 Linux.");
        }

        _epoll = EpollCreate(EpollCloexec);
        if (_epoll < 0)
        {
            throw new SocketException(Marshal.GetLastPInvokeError());
        }

        new Thread(Run) { IsBackground = true, Name = $"subscriber reads {index}" }.Start();
    }

    /// <summary>The reader for a new socket: the loops take sockets in turn.</summary>
    public static SocketReadiness Next()
    {
        var loops = Loops.Value;
        return loops[(int)((uint)Interlocked.Increment(ref _next) % loops.Length)];
    }

    /// <summary>A registration number for <see cref="Add"/>, taken before it so that the reader knows it when first called.</summary>
    public long NewRegistration() => Interlocked.Increment(ref _registrations);

    /// <summary>Watches <paramref name="socket"/> (non-blocking) and calls <paramref name="reader"/> on this loop's thread whenever it can be read.</summary>
    public void Add(Socket socket, long id, IReadyReader reader)
    {
        _readers[id] = reader;
        var ready = new EpollEvent { Events = EpollIn | EpollRdHup, Data = (ulong)id };
        if (EpollCtl(_epoll, EpollCtlAdd, (int)socket.Handle, ref ready) != 0)
        {
            _readers.TryRemove(id, out _);
            throw new SocketException(Marshal.GetLastPInvokeError());
        }
    }

    /// <summary>Stops watching a socket (before it is closed); an event already taken for it is ignored.</summary>
    public void Remove(Socket socket, long id)
    {
        if (_readers.TryRemove(id, out _))
        {
            var none = default(EpollEvent);
            EpollCtl(_epoll, EpollCtlDel, (int)socket.Handle, ref none);
        }
    }

    private unsafe void Run()
    {
        var ready = stackalloc EpollEvent[BatchSize];
        while (true)
        {
            var count = EpollWait(_epoll, ready, BatchSize, -1);
            for (var i = 0; i < count; i++)
            {
                if (_readers.TryGetValue((long)ready[i].Data, out var reader))
                {
                    reader.Readable((ready[i].Events & (EpollErr | EpollHup)) != 0);
                }
            }
        }
    }

    /// <summary>The kernel's <c>struct epoll_event</c>, packed on x86-64.</summary>
    [StructLayout(LayoutKind.Sequential, Pack = 4)]
    private struct EpollEvent
    {
        public int Events;
        public ulong Data;
    }

    [LibraryImport("libc", EntryPoint = "epoll_create1", SetLastError = true)]
    private static partial int EpollCreate(int flags);

    [LibraryImport("libc", EntryPoint = "epoll_ctl", SetLastError = true)]
    private static partial int EpollCtl(int epoll, int operation, int fd, ref EpollEvent ready);

    [LibraryImport("libc", EntryPoint = "epoll_wait", SetLastError = true)]
    private static unsafe partial int EpollWait(int epoll, EpollEvent* ready, int max, int timeoutMs);
}

/// <summary>What a <see cref="SocketReadiness"/> loop calls when its socket can be read.</summary>
internal interface IReadyReader
{
    /// <summary>Reads what the socket has, once; <paramref name="hungUp"/> when the kernel reported an error or hang-up.</summary>
    void Readable(bool hungUp);
}
