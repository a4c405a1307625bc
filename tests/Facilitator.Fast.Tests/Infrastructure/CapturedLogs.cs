using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;

namespace Facilitator.Fast.Tests.Infrastructure;

/// <summary>A logger provider that keeps every entry the gateway writes, so tests can check what was logged and how.</summary>
internal sealed class CapturedLogs : ILoggerProvider
{
    private readonly ConcurrentQueue<Entry> _entries = new();

    /// <summary>One log entry: its category, level, event id, formatted message and exception (null when none was logged).</summary>
    public sealed record Entry(string Category, LogLevel Level, int EventId, string Message, Exception? Exception);

    public IReadOnlyCollection<Entry> Entries => _entries;

    public ILogger CreateLogger(string categoryName) => new Logger(categoryName, _entries);

    public void Dispose()
    {
    }

    private sealed class Logger(string category, ConcurrentQueue<Entry> entries) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => logLevel != LogLevel.None;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            entries.Enqueue(new Entry(category, logLevel, eventId.Id, formatter(state, exception), exception));
    }
}
