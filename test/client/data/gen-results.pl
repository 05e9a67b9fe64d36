#!/usr/bin/perl
# gen-results.pl N [FAIL_EVERY [SLOWER_PCT]]: write a result file in the format of
# `coder exp scaletest create-workspaces --output json:FILE` to stdout, with
# N runs whose logs look like Coder's createworkspaces runner writes them
# (timestamped "sdk request"/"sdk response" lines of its API client and the
# plain progress lines).  Timings are deterministic, so tests can compute
# the expected phases by hand:
#   run i starts at 2026-11-29T10:00:00.000000007Z + i*50 ms
#   create_user      = 80 + (i % 7) * 10 ms
#   create_workspace = 120 + (i % 5) * 20 ms
#   queue_wait       = 30 + (i % 4) * 500 ms
#   build            = 4000 + (i % 10) * 100 ms
#   agents_connect   = 1015 + (i % 3) * 1000 ms
#   duration         = 5 + all of the above + 10 ms, plus 123 ns
# With FAIL_EVERY = K (> 0), run i with i % K == 1 fails; the failures cycle
# through the ten categories of coder_scale.failure_category in order.
# SLOWER_PCT (default 100) scales queue_wait and build, e.g. 130 = 30 % slower.
use strict;
use warnings;

my $n = shift // 3;
my $fail_every = shift // 0;
my $slower = shift // 100;
my $url = 'http://127.0.0.1:3000';
my $org = '3f1c1a8e-0000-4000-8000-000000000001';

my @categories = qw(create_user create_workspace build_failed build_canceled agent_timeout
                    command_failed command_timeout job_timeout cleanup_failed other);

sub go_duration {    # nanoseconds -> Go's Duration.String()
    my ($ns) = @_;
    return '0s' if $ns == 0;
    return "${ns}ns" if $ns < 1000;
    my $frac = sub {
        my ($v, $prec) = @_;
        my $int = int($v / 10**$prec);
        my $f = sprintf("%0${prec}d", $v % 10**$prec);
        $f =~ s/0+$//;
        return ($int, $f eq '' ? '' : ".$f");
    };
    if ($ns < 1_000_000) { my ($i, $f) = $frac->($ns, 3); return "$i$f\x{b5}s"; }
    if ($ns < 1_000_000_000) { my ($i, $f) = $frac->($ns, 6); return "$i${f}ms"; }
    my ($s, $f) = $frac->($ns, 9);
    my ($m, $h) = (int($s / 60), int($s / 3600));
    return "${h}h" . ($m % 60) . "m" . ($s % 60) . "${f}s" if $h > 0;
    return "${m}m" . ($s % 60) . "${f}s" if $m > 0;
    return "$s${f}s";
}

sub stamp {          # ms since the epoch -> slog's human time (UTC here)
    my ($ms) = @_;
    my @t = gmtime(int($ms / 1000));
    return sprintf('%04d-%02d-%02d %02d:%02d:%02d.%03d', $t[5] + 1900, $t[4] + 1, @t[3, 2, 1, 0], $ms % 1000);
}

sub rfc3339 {        # ms since the epoch + ns -> Go's RFC 3339 with nanoseconds
    my ($ms, $ns) = @_;
    my @t = gmtime(int($ms / 1000));
    my $frac = sprintf('%03d%06d', $ms % 1000, $ns);
    $frac =~ s/0+$//;
    return sprintf('%04d-%02d-%02dT%02d:%02d:%02d', $t[5] + 1900, $t[4] + 1, @t[3, 2, 1, 0])
        . ($frac eq '' ? '' : ".$frac") . 'Z';
}

sub json_str {
    my ($s) = @_;
    $s =~ s/(["\\])/\\$1/g;
    $s =~ s/\n/\\n/g;
    $s =~ s/\t/\\t/g;
    $s =~ s/</\\u003c/g;
    $s =~ s/>/\\u003e/g;
    $s =~ s/([\x00-\x1f])/sprintf('\\u%04x', ord($1))/ge;
    return "\"$s\"";
}

sub sdk {            # one request/response pair of the API client
    my ($t0, $t1, $method, $path, $status, $body) = @_;
    (my $b = $body) =~ s/"/\\"/g;
    return stamp($t0) . " [debu]  sdk request  method=$method  url=$url$path  body=\"$b\"\n"
         . stamp($t1) . " [debu]  sdk response  method=$method  url=$url$path  status=$status  body=\"{}\"  trace_id=  span_id=\n";
}

my $base = 1795946400000;    # 2026-11-29T10:00:00Z in ms
my (%runs, $pass, $fail);
my $end = $base;
binmode STDOUT, ':utf8';
for my $i (0 .. $n - 1) {
    my $start = $base + 50 * $i;
    my ($cu, $cw, $qw, $bd, $ag) = (80 + ($i % 7) * 10, 120 + ($i % 5) * 20,
                                    int((30 + ($i % 4) * 500) * $slower / 100),
                                    int((4000 + ($i % 10) * 100) * $slower / 100), 1015 + ($i % 3) * 1000);
    my $user = "scaletest-q7x2kd9a-$i";
    my $bid = sprintf('b0000000-0000-4000-8000-%012d', $i);
    my $fails = $fail_every > 0 && $i % $fail_every == 1;
    my $cat = $fails ? $categories[int($i / $fail_every) % @categories] : '';
    my $t = $start + 5;
    my $logs = "Generating user password...\nCreating user:\n";
    my $err = '<nil>';

    if ($cat eq 'create_user') {
        $logs .= sdk($t, $t + $cu, 'POST', '/api/v2/users', 500, "{\"email\":\"q7x2kd9a-$i\@scaletest.local\"}");
        $err = "create user: POST $url/api/v2/users: unexpected status code 500: Internal error creating user.\n\tError: pq: deadlock detected";
    } else {
        $logs .= sdk($t, $t + $cu, 'POST', '/api/v2/users', 201, "{\"email\":\"q7x2kd9a-$i\@scaletest.local\"}");
        $logs .= "\nLogging in as new user...\n\tOrg ID:   $org\n\tUsername: $user\n\tEmail:    q7x2kd9a-$i\@scaletest.local\n"
               . "\tPassword: ****************\n\nCreating workspace...\n";
        $t += $cu + 70;    # login (not logged) takes 70 ms
        my $wpath = "/api/v2/organizations/$org/members/$user/workspaces";
        my $wbody = "{\"template_id\":\"7e57a7e5-0000-4000-8000-000000000000\",\"name\":\"$user\",\"rich_parameter_values\":[]}";
        if ($cat eq 'create_workspace') {
            $logs .= sdk($t, $t + $cw, 'POST', $wpath, 400, $wbody);
            $err = "create workspace: create workspace: POST $url$wpath: unexpected status code 400: "
                 . "Workspace \"$user\" already exists.\n\tname: This value is already in use and should be unique.";
        } else {
            $logs .= sdk($t, $t + $cw, 'POST', $wpath, 201, $wbody);
            $t += $cw;
            $logs .= 'Build is currently queued...';
            my $polls = int($qw / 500);
            for my $p (0 .. $polls) {    # the last poll's response ends the queue wait
                my $r = $p == $polls ? $t + $qw : $t + 500 * $p + 20;
                $logs .= ($p > 0 ? '.' : '') . sdk($r - 20, $r, 'GET', "/api/v2/workspacebuilds/$bid", 200, '');
            }
            $t += $qw;
            $logs .= "\nBuild started! Streaming logs below:\n\nSetting up\n\tinfo:\tTerraform 1.5.7\n"
                   . "\nStarting workspace\n\tinfo:\tdocker_container.workspace[0]: Creating...\n"
                   . "\tinfo:\tdocker_container.workspace[0]: Creation complete after 3s [id=c0ffee] \x{2714}\n";
            if ($cat eq 'build_failed') {
                $logs .= sdk($t + $bd - 20, $t + $bd, 'GET', "/api/v2/workspacebuilds/$bid", 200, '')
                       . "\n\nBuild failed with error \"exit status 1\".\nSee logs above for more details.\n";
                $err = "create workspace:\n    github.com/coder/coder/v2/scaletest/createworkspaces.(*Runner).Run\n"
                     . "        /home/runner/work/coder/coder/scaletest/createworkspaces/run.go:118\n  - wait for build:\n"
                     . "    github.com/coder/coder/v2/scaletest/workspacebuild.(*Runner).RunReturningWorkspace\n"
                     . "        /home/runner/work/coder/coder/scaletest/workspacebuild/run.go:97\n"
                     . "  - build failed with status \"failed\": exit status 1";
            } elsif ($cat eq 'build_canceled') {
                $logs .= sdk($t + $bd - 20, $t + $bd, 'GET', "/api/v2/workspacebuilds/$bid", 200, '') . "\n\nBuild canceled.\n";
                $err = 'create workspace: wait for build: build canceled';
            } elsif ($cat eq 'job_timeout') {
                $err = "create workspace: wait for build: fetch build: GET $url/api/v2/workspacebuilds/$bid: context deadline exceeded";
            } else {
                $logs .= sdk($t + $bd - 20, $t + $bd, 'GET', "/api/v2/workspacebuilds/$bid", 200, '') . "\n\nBuild succeeded!\n\n";
                $t += $bd;
                $logs .= "Waiting for agents to connect...\n\n";
                my $wsp = sprintf("/api/v2/workspaces/c0000000-0000-4000-8000-%012d", $i);
                my $checks = int($ag / 1000);
                for my $c (0 .. $checks) {
                    my $r = $c == $checks ? $t + $ag : $t + 1000 * $c + 15;
                    my $st = $c == $checks ? 'connected' : 'connecting';
                    $logs .= sdk($r - 15, $r, 'GET', $wsp, 200, '') . "\tAgent \"main\" is $st\n";
                    $logs .= "\n" unless $c == $checks;
                }
                if ($cat eq 'agent_timeout') {
                    $err = 'create workspace: wait for agent: context deadline exceeded';
                } else {
                    $logs .= "\nAgents connected!\n\n";
                    if ($cat eq 'command_failed' || $cat eq 'command_timeout') {
                        $logs .= "Opening reconnecting PTY connection to agent via coderd...\n\tID:      1d0e\n\tWidth:   80\n"
                               . "\tHeight:  24\n\tBackend: \n\tCommand: \"echo ready\"\n\n";
                        $err = $cat eq 'command_failed'
                            ? "run workspace connections in parallel: run reconnecting pty: expected string \"ready\" not found in output"
                            : "run workspace connections in parallel: run reconnecting pty: copy context: context deadline exceeded";
                    } elsif ($cat eq 'cleanup_failed') {
                        $err = "cleanup workspace: delete workspace: POST $url$wsp/builds: unexpected status code 409: "
                             . "Workspace is already being deleted.";
                    } elsif ($cat eq 'other') {
                        $err = "panic: runtime error: index out of range [3] with length 3 \x{2014} r\x{e9}sum\x{e9}";
                    }
                }
            }
        }
    }
    my $dur_ms = 5 + $cu + 70 + $cw + $qw + $bd + $ag + 10;
    my $dur_ns = $dur_ms * 1_000_000 + 123;
    $end = $start + $dur_ms if $start + $dur_ms > $end;
    $err eq '<nil>' ? $pass++ : $fail++;
    my $id = "workspacebuild/$i";
    $runs{$id} = '{"full_id":' . json_str($id) . ',"test_name":"workspacebuild","id":"' . $i . '","logs":' . json_str($logs)
               . ',"started_at":"' . rfc3339($start, 7) . '","duration":' . json_str(go_duration($dur_ns))
               . ',"duration_ms":' . int($dur_ns / 1_000_000) . ',"error":' . json_str($err) . '}';
}
$pass //= 0;
$fail //= 0;
my $elapsed_ns = ($end - $base + 250) * 1_000_000;
print '{"total_runs":' . $n . ',"total_pass":' . $pass . ',"total_fail":' . $fail
    . ',"elapsed":' . json_str(go_duration($elapsed_ns)) . ',"elapsed_ms":' . int($elapsed_ns / 1_000_000)
    . ',"runs":{' . join(',', map { json_str($_) . ':' . $runs{$_} } sort keys %runs) . "}}\n";
