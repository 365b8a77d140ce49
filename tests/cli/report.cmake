# sinklab report demo: every figure kind drawn by gnuplot, plus demo.html.
sinklab_cli_test(report_demo 0 "wrote 10 figures, dynamics.csv, claims.json and demo.html"
                 report demo --out @SCRATCH@/demo)
sinklab_cli_test(report_demo_unwritable 2 "cannot create directory|not writable"
                 report demo --out /proc/sinklab-no-such-dir/demo)
sinklab_cli_test(report_demo_default_out 0 "demo.html to report-demo$"
                 report demo)
