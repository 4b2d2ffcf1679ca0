// ZooKeeper's side of the peer benchmark, driven through its official Java client (the jars of Debian's
// zookeeper package). The .NET orchestrator sends one command per workload step on stdin and reads one
// JSON line back, so no step pays a round trip per operation. The mapping mirrors the other peers:
// a provider is one session whose instances are ephemeral znodes /services/{service}/{id}; a watcher is
// one session with a getChildren watch on every service, re-armed after each event, whose events are
// derived by comparing the new children with the previous ones.
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicLongArray;
import java.util.function.IntFunction;
import org.apache.zookeeper.AsyncCallback;
import org.apache.zookeeper.CreateMode;
import org.apache.zookeeper.KeeperException;
import org.apache.zookeeper.WatchedEvent;
import org.apache.zookeeper.Watcher;
import org.apache.zookeeper.ZooDefs;
import org.apache.zookeeper.ZooKeeper;

public final class ZkAgent {
    static final String ROOT = "/services";
    static final int SERVICES = 50;
    static final int BLOCK = 10;
    static byte[] value;
    static String connect;
    static final List<Provider> providers = new ArrayList<>();
    static final List<WatcherSession> watchers = new ArrayList<>();
    static final AtomicInteger lost = new AtomicInteger();
    static long holderKilledAt;
    static BufferedReader input;

    public static void main(String[] args) throws Exception {
        connect = args[1];
        value = Files.readAllBytes(Path.of(args[2]));
        if (args[0].equals("hold")) {
            int instances = Integer.parseInt(args[3]);
            int timeoutMs = Integer.parseInt(args[4]);
            ensureTree();
            Provider holder = new Provider(0, timeoutMs, i -> "h-" + i);
            holder.registerAll(instances).get();
            System.out.println("ready");
            System.out.flush();
            Thread.sleep(Long.MAX_VALUE);
            return;
        }

        ensureTree();
        System.out.println("ready");
        System.out.flush();
        input = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
        String line;
        while ((line = input.readLine()) != null) {
            String[] command = line.trim().split(" ");
            String answer;
            try {
                answer = run(command);
            } catch (Exception e) {
                answer = "{\"error\":\"" + e.toString().replace("\\", "\\\\").replace("\"", "'") + "\"}";
            }
            System.out.println(answer);
            System.out.flush();
            if (command[0].equals("quit")) {
                break;
            }
        }
        for (Provider p : providers) p.zk.close();
        for (WatcherSession w : watchers) w.zk.close();
    }

    static String run(String[] c) throws Exception {
        switch (c[0]) {
            case "register": {
                int count = Integer.parseInt(c[1]);
                int perProvider = Integer.parseInt(c[2]);
                int timeoutMs = Integer.parseInt(c[3]);
                List<CompletableFuture<long[]>> done = new ArrayList<>();
                List<Provider> batch = new ArrayList<>();
                for (int p = 0; p < count; p++) {
                    int index = providers.size() + p;
                    batch.add(new Provider(index, timeoutMs, i -> String.format("p%04d-%04d", index, i)));
                }
                providers.addAll(batch);
                for (Provider p : batch) done.add(p.registerAll(perProvider));
                StringBuilder json = new StringBuilder("{\"latenciesUs\":[");
                boolean first = true;
                for (CompletableFuture<long[]> f : done) {
                    for (long us : f.get()) {
                        if (!first) json.append(',');
                        json.append(us);
                        first = false;
                    }
                }
                return json.append("]}").toString();
            }
            case "count": {
                ZooKeeper zk = session(10000, null);
                long count = 0;
                for (int s = 0; s < SERVICES; s++) count += zk.getChildren(servicePath(s), false).size();
                zk.close();
                return "{\"count\":" + count + ",\"lost\":" + lost.get() + "}";
            }
            case "watch": {
                int count = Integer.parseInt(c[1]);
                List<WatcherSession> batch = new ArrayList<>();
                for (int w = 0; w < count; w++) batch.add(new WatcherSession());
                for (WatcherSession w : batch) w.listed.await(60, TimeUnit.SECONDS);
                watchers.addAll(batch);
                return "{}";
            }
            case "changes":
                return changes(Integer.parseInt(c[1]), Integer.parseInt(c[2]), c.length > 3 ? Integer.parseInt(c[3]) : -1);
            case "mark":
                holderKilledAt = System.nanoTime();
                return "{}";
            case "waitholder": {
                int instances = Integer.parseInt(c[1]);
                long until = System.nanoTime() + Long.parseLong(c[2]) * 1_000_000L;
                while (System.nanoTime() < until && watchers.stream().anyMatch(w -> w.holderDeletes.get() < instances)) Thread.sleep(10);
                StringBuilder json = new StringBuilder("{\"seconds\":[");
                for (int i = 0; i < watchers.size(); i++) {
                    WatcherSession w = watchers.get(i);
                    if (i > 0) json.append(',');
                    json.append(w.holderDeletes.get() >= instances ? String.valueOf((w.lastHolderDelete.get() - holderKilledAt) / 1e9) : "null");
                }
                return json.append("]}").toString();
            }
            case "spurious": {
                long spurious = 0;
                for (WatcherSession w : watchers) spurious += w.spurious.get();
                return "{\"spurious\":" + spurious + ",\"lost\":" + lost.get() + "}";
            }
            case "quit":
                return "{}";
            default:
                throw new IllegalArgumentException("unknown command " + c[0]);
        }
    }

    /**
     * W3 (and W7 with faultAfter >= 0: once that change is acknowledged, the agent asks the orchestrator to
     * inject the fault with a {"fault":true} line and goes on when it answers "injected").
     */
    static String changes(int changes, int perSecond, int faultAfter) throws Exception {
        int keys = (changes + 1) / 2 + BLOCK;
        for (WatcherSession w : watchers) w.prepare(keys);
        ZooKeeper writer = session(10000, null);
        long[] createdAck = new long[keys];
        long[] deletedAck = new long[keys];
        long longestWrite = 0;
        long faultAt = 0;
        long start = System.nanoTime();
        for (int change = 0; change < changes; change++) {
            long due = start + change * 1_000_000_000L / perSecond;
            long wait = due - System.nanoTime();
            if (wait > 1_000_000L) Thread.sleep(wait / 1_000_000L, (int) (wait % 1_000_000L));
            int block = change / (2 * BLOCK);
            int position = change % (2 * BLOCK);
            int key = block * BLOCK + position % BLOCK;
            String path = servicePath(key % SERVICES) + "/w3-" + key;
            long writing = System.nanoTime();
            write(writer, path, position >= BLOCK);
            long acknowledged = System.nanoTime();
            (position >= BLOCK ? deletedAck : createdAck)[key] = acknowledged;
            longestWrite = Math.max(longestWrite, acknowledged - writing);
            if (change == faultAfter) {
                System.out.println("{\"fault\":true}");
                System.out.flush();
                String answer = input.readLine();
                if (!"injected".equals(answer)) throw new IllegalStateException("expected 'injected', got " + answer);
                faultAt = System.nanoTime();
            }
        }
        long deadline = System.nanoTime() + 5_000_000_000L;
        while (System.nanoTime() < deadline && watchers.stream().anyMatch(w -> w.missed(changes) > 0)) Thread.sleep(20);
        StringBuilder json = new StringBuilder("{\"latenciesMs\":[");
        boolean first = true;
        for (WatcherSession w : watchers) {
            for (int change = 0; change < changes; change++) {
                int block = change / (2 * BLOCK);
                int position = change % (2 * BLOCK);
                int key = block * BLOCK + position % BLOCK;
                boolean delete = position >= BLOCK;
                long received = delete ? w.deleted.get(key) : w.created.get(key);
                if (received == 0) continue;
                long acknowledged = delete ? deletedAck[key] : createdAck[key];
                if (!first) json.append(',');
                json.append(String.format("%.3f", Math.max(0, received - acknowledged) / 1e6));
                first = false;
            }
        }
        json.append(String.format("],\"longestWriteMs\":%.3f,\"recoveryMs\":[", longestWrite / 1e6));
        for (int i = 0; faultAfter >= 0 && i < watchers.size(); i++) {
            if (i > 0) json.append(',');
            long recovered = watchers.get(i).firstReceiptAfter(changes, faultAt, createdAck, deletedAck);
            json.append(recovered == 0 ? "null" : String.format("%.3f", (recovered - faultAt) / 1e6));
        }
        json.append("],\"missed\":[");
        for (int i = 0; i < watchers.size(); i++) {
            if (i > 0) json.append(',');
            json.append(watchers.get(i).missed(changes));
        }
        writer.close();
        return json.append("]}").toString();
    }

    /** One create or delete, retried through a connection loss (the writer's server died) until it is known done. */
    static void write(ZooKeeper writer, String path, boolean delete) throws Exception {
        long deadline = System.nanoTime() + 60_000_000_000L;
        while (true) {
            try {
                if (delete) writer.delete(path, -1);
                else writer.create(path, value, ZooDefs.Ids.OPEN_ACL_UNSAFE, CreateMode.EPHEMERAL);
                return;
            } catch (KeeperException.NodeExistsException | KeeperException.NoNodeException e) {
                return; // a retried write that had been applied before the connection was lost
            } catch (KeeperException.ConnectionLossException e) {
                if (System.nanoTime() > deadline) throw e;
                Thread.sleep(10);
            }
        }
    }

    static String servicePath(int service) {
        return String.format("%s/svc-%02d", ROOT, service);
    }

    static void ensureTree() throws Exception {
        ZooKeeper zk = session(10000, null);
        createIfMissing(zk, ROOT);
        for (int s = 0; s < SERVICES; s++) createIfMissing(zk, servicePath(s));
        zk.close();
    }

    static void createIfMissing(ZooKeeper zk, String path) throws Exception {
        try {
            zk.create(path, new byte[0], ZooDefs.Ids.OPEN_ACL_UNSAFE, CreateMode.PERSISTENT);
        } catch (KeeperException.NodeExistsException e) {
            // already there
        }
    }

    /** A connected session; stateEvents, when given, also hears connection state changes. */
    static ZooKeeper session(int timeoutMs, Watcher stateEvents) throws Exception {
        CountDownLatch connected = new CountDownLatch(1);
        ZooKeeper zk = new ZooKeeper(connect, timeoutMs, event -> {
            if (event.getState() == Watcher.Event.KeeperState.SyncConnected) connected.countDown();
            if (stateEvents != null) stateEvents.process(event);
        });
        if (!connected.await(30, TimeUnit.SECONDS)) throw new IllegalStateException("no session with " + connect);
        return zk;
    }

    /** One provider process: one session, its ephemeral instances created one after another. */
    static final class Provider {
        final int index;
        final int timeoutMs;
        final IntFunction<String> idOf;
        final List<String> paths = new ArrayList<>();
        volatile ZooKeeper zk;

        Provider(int index, int timeoutMs, IntFunction<String> idOf) throws Exception {
            this.index = index;
            this.timeoutMs = timeoutMs;
            this.idOf = idOf;
            this.zk = session(timeoutMs, this::onState);
        }

        CompletableFuture<long[]> registerAll(int count) {
            long[] latencies = new long[count];
            CompletableFuture<long[]> done = new CompletableFuture<>();
            for (int i = 0; i < count; i++) paths.add(servicePath((index * count + i) % SERVICES) + "/" + idOf.apply(i));
            createNext(0, latencies, done);
            return done;
        }

        private void createNext(int i, long[] latencies, CompletableFuture<long[]> done) {
            if (i == latencies.length) {
                done.complete(latencies);
                return;
            }
            long started = System.nanoTime();
            AsyncCallback.StringCallback created = (rc, path, ctx, name) -> {
                if (rc != KeeperException.Code.OK.intValue()) {
                    done.completeExceptionally(KeeperException.create(KeeperException.Code.get(rc), path));
                    return;
                }
                latencies[i] = (System.nanoTime() - started) / 1000;
                createNext(i + 1, latencies, done);
            };
            zk.create(paths.get(i), value, ZooDefs.Ids.OPEN_ACL_UNSAFE, CreateMode.EPHEMERAL, created, null);
        }

        /** An expired session has lost its ephemeral nodes: a provider starts a new session and registers again. */
        private void onState(WatchedEvent event) {
            if (event.getState() != Watcher.Event.KeeperState.Expired) return;
            lost.addAndGet(paths.size());
            new Thread(() -> {
                try {
                    zk = session(timeoutMs, this::onState);
                    for (String path : paths) zk.create(path, value, ZooDefs.Ids.OPEN_ACL_UNSAFE, CreateMode.EPHEMERAL);
                } catch (Exception e) {
                    System.err.println("re-registration failed: " + e);
                }
            }).start();
        }
    }

    /** One consumer: one session, the children of every service, a watch re-armed after each event. */
    static final class WatcherSession implements Watcher {
        final ZooKeeper zk;
        final CountDownLatch listed = new CountDownLatch(SERVICES);
        @SuppressWarnings("unchecked")
        final Set<String>[] children = new Set[SERVICES];
        volatile AtomicLongArray created = new AtomicLongArray(0);
        volatile AtomicLongArray deleted = new AtomicLongArray(0);
        final AtomicInteger holderDeletes = new AtomicInteger();
        final AtomicLong lastHolderDelete = new AtomicLong();
        final AtomicLong spurious = new AtomicLong();

        WatcherSession() throws Exception {
            zk = session(10000, null);
            for (int s = 0; s < SERVICES; s++) list(s);
        }

        void prepare(int keys) {
            created = new AtomicLongArray(keys);
            deleted = new AtomicLongArray(keys);
        }

        /** The first receipt (nanoTime) of a change acknowledged after faultAt; 0 when none. */
        long firstReceiptAfter(int changes, long faultAt, long[] createdAck, long[] deletedAck) {
            long first = Long.MAX_VALUE;
            for (int change = 0; change < changes; change++) {
                int block = change / (2 * BLOCK);
                int position = change % (2 * BLOCK);
                int key = block * BLOCK + position % BLOCK;
                boolean delete = position >= BLOCK;
                long received = delete ? deleted.get(key) : created.get(key);
                if ((delete ? deletedAck : createdAck)[key] > faultAt && received != 0) first = Math.min(first, received);
            }
            return first == Long.MAX_VALUE ? 0 : first;
        }

        int missed(int changes) {
            int missed = 0;
            for (int change = 0; change < changes; change++) {
                int block = change / (2 * BLOCK);
                int position = change % (2 * BLOCK);
                int key = block * BLOCK + position % BLOCK;
                if ((position >= BLOCK ? deleted.get(key) : created.get(key)) == 0) missed++;
            }
            return missed;
        }

        @Override
        public void process(WatchedEvent event) {
            if (event.getType() == Event.EventType.NodeChildrenChanged) {
                String path = event.getPath();
                list(Integer.parseInt(path.substring(path.length() - 2)));
            }
        }

        private void list(int service) {
            zk.getChildren(servicePath(service), this, (rc, path, ctx, names) -> {
                if (rc != KeeperException.Code.OK.intValue()) {
                    // Connection loss: the client re-arms watches on reconnection; read again then.
                    if (rc == KeeperException.Code.CONNECTIONLOSS.intValue()) list(service);
                    return;
                }
                long now = System.nanoTime();
                Set<String> next = new HashSet<>(names);
                Set<String> previous = children[service];
                children[service] = next;
                if (previous == null) {
                    listed.countDown();
                    return;
                }
                for (String id : next) if (!previous.contains(id)) onUpsert(id, now);
                for (String id : previous) if (!next.contains(id)) onDelete(id, now);
            }, null);
        }

        private void onUpsert(String id, long now) {
            if (id.startsWith("w3-")) {
                int key = Integer.parseInt(id.substring(3));
                AtomicLongArray slots = created;
                if (key < slots.length()) slots.compareAndSet(key, 0, now);
            }
        }

        private void onDelete(String id, long now) {
            if (id.startsWith("w3-")) {
                int key = Integer.parseInt(id.substring(3));
                AtomicLongArray slots = deleted;
                if (key < slots.length()) slots.compareAndSet(key, 0, now);
            } else if (id.startsWith("h-")) {
                lastHolderDelete.set(now);
                holderDeletes.incrementAndGet();
            } else if (id.startsWith("p")) {
                spurious.incrementAndGet();
            }
        }
    }
}
