"""A TCP relay that adds latency (and jitter) in both directions: the fallback for
netns-cluster.sh when the kernel has no netem qdisc. Each chunk read from one side is written to
the other `one_way_ms` (± jitter, never reordered) later.

Usage: python3 delay_relay.py LISTEN_HOST LISTEN_PORT TARGET_HOST TARGET_PORT ONE_WAY_MS [JITTER_MS]"""
import asyncio
import random
import sys


async def pipe(reader, writer, delay, jitter):
    queue = asyncio.Queue()
    loop = asyncio.get_running_loop()

    async def release():
        while True:
            due, data = await queue.get()
            if data is None:
                break
            wait = due - loop.time()
            if wait > 0:
                await asyncio.sleep(wait)
            writer.write(data)
            await writer.drain()
        writer.close()

    sender = asyncio.create_task(release())
    last = 0.0
    while True:
        data = await reader.read(65536)
        due = max(last, loop.time() + max(0.0, delay + random.uniform(-jitter, jitter)))
        last = due
        await queue.put((due, data or None))
        if not data:
            break
    await sender


async def main():
    listen_host, listen_port, target_host, target_port = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4])
    delay = float(sys.argv[5]) / 1000
    jitter = float(sys.argv[6]) / 1000 if len(sys.argv) > 6 else 0.0

    async def handle(client_reader, client_writer):
        try:
            server_reader, server_writer = await asyncio.open_connection(target_host, target_port)
        except OSError:
            client_writer.close()
            return
        await asyncio.gather(pipe(client_reader, server_writer, delay, jitter), pipe(server_reader, client_writer, delay, jitter),
                             return_exceptions=True)

    server = await asyncio.start_server(handle, listen_host, listen_port)
    print(f"relaying {listen_host}:{listen_port} -> {target_host}:{target_port} with {delay * 1000:.1f} ms each way", flush=True)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    asyncio.run(main())
