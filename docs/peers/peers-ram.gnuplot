set terminal pngcairo size 1100,520 font 'sans,10'
set output 'docs/peers/peers-ram-ratios.png'
set title "How many times better Roster is, per workload (1 = equal; above 1 Roster is ahead)"
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.8 border -1
set logscale y
set grid ytics
set xtics rotate by -20
set ylabel 'ratio (log scale)'
plot 'docs/peers/peers-ram-ratios.dat' using 2:xtic(1) title 'vs etcd', '' using 3 title 'vs ZooKeeper', 1 with lines lc rgb 'black' notitle
unset style
unset logscale y
set xtics norotate
set output 'docs/peers/peers-ram-latency.png'
set multiplot layout 1,2
set grid
set logscale x
set ylabel 'percentile'
set key bottom right
set title 'W1: registration acknowledgement (ms)'
plot 'docs/peers/peers-ram-latency.dat' using 2:1 with lines lw 2 title 'roster', 'docs/peers/peers-ram-latency.dat' using 4:1 with lines lw 2 title 'etcd', 'docs/peers/peers-ram-latency.dat' using 6:1 with lines lw 2 title 'zookeeper'
set title 'W3: write acknowledged → watcher has it (ms)'
plot 'docs/peers/peers-ram-latency.dat' using 3:1 with lines lw 2 title 'roster', 'docs/peers/peers-ram-latency.dat' using 5:1 with lines lw 2 title 'etcd', 'docs/peers/peers-ram-latency.dat' using 7:1 with lines lw 2 title 'zookeeper'
unset multiplot