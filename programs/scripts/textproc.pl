# The perl program's work: parse a log with regular expressions, count words,
# addresses and paths in hashes, sort them, rewrite lines with s///, build a
# report with sprintf. Prints only deterministic results.
# Usage: textproc.pl LOG
use strict;
use warnings;

my (%words, %by_status, %by_path, %by_addr, %bytes_by_day, @long);
my $lines = 0;
open(my $in, '<', $ARGV[0]) or die "cannot read $ARGV[0]: $!";
while (my $line = <$in>) {
    $lines++;
    next unless $line =~ m{^(\d+\.\d+\.\d+\.\d+) \S+ \S+ \[(\d+)/(\w+)/(\d+):[\d:]+\] "(\w+) (\S+) [^"]*" (\d+) (\d+) "([^"]*)" (.*)$};
    my ($addr, $day, $method, $path, $status, $bytes, $agent, $text) = ($1, $2, $5, $6, $7, $8, $9, $10);
    $by_status{$status}++;
    $by_path{$path}++;
    $by_addr{$addr} += $bytes;
    $bytes_by_day{$day} += $bytes;
    $words{lc $_}++ for split /\s+/, $text;
    (my $shout = $text) =~ s/\b(\w)(\w*)/\U$1\E$2/g;
    push @long, $shout if length($shout) > 120;
    @long = sort { length($b) <=> length($a) || $a cmp $b } @long and splice(@long, 50) if @long > 500;
}
close $in;

print "lines $lines\n";
print "status $_ $by_status{$_}\n" for sort keys %by_status;
my @top = (sort { $words{$b} <=> $words{$a} || $a cmp $b } keys %words)[0 .. 9];
print "word $_ $words{$_}\n" for @top;
my @paths = (sort { $by_path{$b} <=> $by_path{$a} || $a cmp $b } keys %by_path)[0 .. 4];
print "path $_ $by_path{$_}\n" for @paths;
print "addresses ", scalar(keys %by_addr), " paths ", scalar(keys %by_path),
      " words ", scalar(keys %words), "\n";
print sprintf("day %02d %d\n", $_, $bytes_by_day{$_}) for sort { $a <=> $b } keys %bytes_by_day;
my $joined = join "|", map { substr($_, 0, 20) } @long;
print "long ", scalar(@long), " ", length($joined), "\n";
