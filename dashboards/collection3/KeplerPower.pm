package Collectd::Graph::Type::KeplerPower;
# SPDX-License-Identifier: GPL-2.0-only
#
# collection3 graphs for collectd-kepler's `power` series. collection3 picks
# the module by type alone, and `power` is collectd's own type: the graphs of
# other plugins' power files stay the stock ones (one per file), and the
# plugin's files are grouped as one graph per host and level:
#   kepler_node                   idle and dynamic stacked, total as a line;
#                                 the components (package, dram, platform...)
#                                 as lines in a second graph;
#   kepler_<level> (container,    the power-total of each member and of the
#   pod, service, vm, command,    system, kernel and other buckets stacked,
#   process)                      the node's total as a line over them (the
#                                 $Top members with the most power an area
#                                 each, the others one area); and
#                                 a graph per member, its idle and dynamic
#                                 stacked under its total.
# Install: copy this file to collection3's lib/Collectd/Graph/Type/ and
# include kepler.conf from its etc/collection.conf (see dashboards/README.md).

use strict;
use warnings;
use base ('Collectd::Graph::Type');

use URI::Escape (qw(uri_escape));
use RRDs ();
use Collectd::Graph::Common (qw(ident_to_filename get_faded_color));

our @Palette = (qw(1F77B4 FF7F0E 2CA02C D62728 9467BD 8C564B E377C2 17BECF
  BCBD22 393B79 AD494A 637939));
our %Buckets = (system => 'B3B3B3', kernel => '7F7F7F', other => 'D9D9D9');
# An area for each of the $Top members with the most power in the graph's
# time span; the others in one area.
our $Top = 8;

return (1);

# Graphs: [{kind => node|level|file, idents => [...]}], in a stable order.
sub _groups
{
  my $obj = shift;
  return ($obj->{'kepler_groups'}) if ($obj->{'kepler_groups'});

  my %groups = ();
  for my $ident (@{$obj->{'files'}})
  {
    my $plugin = $ident->{'plugin'} || '';
    my $pi = $ident->{'plugin_instance'};
    my $ti = $ident->{'type_instance'};
    my $host = $ident->{'hostname'};
    my $key;
    my $kind;
    if ($plugin !~ m/^kepler_[a-z]+$/ || !defined ($ti))
    {
      # Another plugin's power: a graph per file, collection3's default.
      ($key, $kind) = ("9 " . ident_to_filename ($ident), 'file');
    }
    elsif ($plugin eq 'kepler_node' && $ti =~ m/^(total|idle|dynamic)$/)
    {
      ($key, $kind) = ("1 $host/$plugin", 'split');
    }
    elsif ($plugin eq 'kepler_node')
    {
      # The components (package, dram, platform, ... and their idle and
      # dynamic parts): lines.
      ($key, $kind) = ("2 $host/$plugin", 'lines');
    }
    elsif ($ti eq 'total')
    {
      ($key, $kind) = ("3 $host/$plugin", 'level');
    }
    elsif ($ti =~ m/^(idle|dynamic)$/ && defined ($pi))
    {
      # One member: idle and dynamic stacked under its total.
      ($key, $kind) = ("4 $host/$plugin/$pi", 'split');
    }
    else
    {
      ($key, $kind) = ("9 " . ident_to_filename ($ident), 'file');
    }
    $groups{$key} ||= {kind => $kind, idents => []};
    push (@{$groups{$key}{'idents'}}, $ident);
  }

  my @ret = map { $groups{$_} } (sort (keys %groups));
  for my $g (@ret)
  {
    next if ($g->{'kind'} ne 'level');
    # Members by name, then the buckets.
    my @m = sort { $a->{'plugin_instance'} cmp $b->{'plugin_instance'} }
      grep { !exists $Buckets{$_->{'plugin_instance'} || ''} } @{$g->{'idents'}};
    for my $b (qw(system kernel other))
    {
      push (@m, grep { ($_->{'plugin_instance'} || '') eq $b } @{$g->{'idents'}});
    }
    $g->{'idents'} = \@m;
  }
  $obj->{'kepler_groups'} = \@ret;
  return (\@ret);
}

# The average power of each file over the span graph.cgi draws (its begin
# and end parameters), highest first.
sub _rank
{
  my @idents = @_;
  my $begin = -86400;
  my $end = 'now';
  if (defined &CGI::param)
  {
    my $b = CGI::param ('begin');
    my $e = CGI::param ('end');
    $begin = $b if (defined $b && $b =~ m/^-?[0-9]+$/);
    $end = $e if (defined $e && $e =~ m/^[1-9][0-9]*$/);
  }
  $begin = "end$begin" if ($begin < 0);
  my %avg = ();
  for my $ident (@idents)
  {
    my $file = _escape (ident_to_filename ($ident));
    my ($out) = RRDs::graph ('/dev/null', '-s', $begin, '-e', $end,
      "DEF:m=$file:value:AVERAGE", 'CDEF:z=m,UN,0,m,IF', 'VDEF:a=z,AVERAGE',
      'PRINT:a:%lf');
    my $v = ($out && @$out) ? $out->[0] : 0;
    $avg{$ident->{'plugin_instance'}} = ($v =~ m/^[0-9.eE+-]+$/) ? $v : 0;
  }
  return (sort { $avg{$b->{'plugin_instance'}} <=> $avg{$a->{'plugin_instance'}}
      || $a->{'plugin_instance'} cmp $b->{'plugin_instance'} } @idents);
}

sub getGraphsNum
{
  my $obj = shift;
  return (scalar @{$obj->_groups ()});
}

sub _escape
{
  my $s = shift;
  $s =~ s/\\/\//g;
  $s =~ s/:/\\:/g;
  return ($s);
}

sub _file_object
{
  my $obj = shift;
  my $ident = shift;
  my $file = Collectd::Graph::Type->new ($ident);
  for (qw(rrd_opts rrd_format))
  {
    $file->{$_} = $obj->{$_} if (defined $obj->{$_});
  }
  $file->{'data_sources'} = ['value'];
  $file->{'ds_names'} = {value => 'Watts'};
  $file->{'rrd_colors'} = {value => '008080'};
  $file->{'rrd_vertical'} = 'Watts';
  $file->{'rrd_title'} = 'Power ({plugin_instance} {type_instance})';
  return ($file);
}

sub getRRDArgs
{
  my $obj = shift;
  my $index = shift;
  my $g = $obj->_groups ()->[$index];
  if (!$g)
  {
    return;
  }
  if ($g->{'kind'} eq 'file')
  {
    return ($obj->_file_object ($g->{'idents'}[0])->getRRDArgs (0));
  }

  my $first = $g->{'idents'}[0];
  my $host = $first->{'hostname'};
  my $format = $obj->{'rrd_format'};
  $format = '%6.2lf%sW' if (!$format || ref ($format));
  my @ret = ('-v', 'Watts', '-l', '0');

  if ($g->{'kind'} eq 'lines')
  {
    push (@ret, '-t', "Node power by component on $host");
    my @idents = sort { $a->{'type_instance'} cmp $b->{'type_instance'} }
      @{$g->{'idents'}};
    my $width = 0;
    for (@idents)
    {
      $width = length ($_->{'type_instance'}) if (length ($_->{'type_instance'}) > $width);
    }
    my $n = 0;
    for my $ident (@idents)
    {
      my $file = _escape (ident_to_filename ($ident));
      push (@ret, "DEF:c$n=$file:value:AVERAGE",
        "LINE2:c$n#" . $Palette[$n % @Palette] . ':'
          . _escape (sprintf ('%-*s', $width, $ident->{'type_instance'})),
        "GPRINT:c$n:AVERAGE:$format Avg,",
        "GPRINT:c$n:LAST:$format Last\\l");
      $n++;
    }
    return (\@ret);
  }
  if ($g->{'kind'} eq 'split')
  {
    my %f = map { ($_->{'type_instance'} => _escape (ident_to_filename ($_))) }
      @{$g->{'idents'}};
    if (!$f{'total'})
    {
      # A member's total is in its level's graph; drawn here too.
      my $total = ident_to_filename ({%$first, type_instance => 'total'});
      $f{'total'} = _escape ($total) if (-f $total);
    }
    if ($first->{'plugin'} eq 'kepler_node')
    {
      push (@ret, '-t', "Node power on $host");
    }
    else
    {
      my $level = $first->{'plugin'};
      $level =~ s/^kepler_//;
      push (@ret, '-t', "Power of $level $first->{'plugin_instance'} on $host");
    }
    my $stacked = 0;
    for my $w (qw(idle dynamic))
    {
      next if (!$f{$w});
      my $colour = ($w eq 'idle') ? 'A6CEE3' : 'FDBF6F';
      push (@ret, "DEF:$w=$f{$w}:value:AVERAGE",
        "CDEF:${w}0=$w,UN,0,$w,IF",
        "AREA:${w}0#$colour:" . sprintf ('%-8s', $w) . ($stacked ? ':STACK' : ''),
        "GPRINT:$w:AVERAGE:$format Avg,",
        "GPRINT:$w:MAX:$format Max,",
        "GPRINT:$w:LAST:$format Last\\l");
      $stacked = 1;
    }
    if ($f{'total'})
    {
      push (@ret, "DEF:total=$f{'total'}:value:AVERAGE",
        "LINE2:total#000000:total   ",
        "GPRINT:total:AVERAGE:$format Avg,",
        "GPRINT:total:MAX:$format Max,",
        "GPRINT:total:LAST:$format Last\\l");
    }
    return (\@ret);
  }

  # A level: its members stacked, the node's total over them.
  my $level = $first->{'plugin'};
  $level =~ s/^kepler_//;
  push (@ret, '-t', "Power by $level on $host, node total over the stack");
  my @members = grep { !exists $Buckets{$_->{'plugin_instance'} || ''} }
    @{$g->{'idents'}};
  my @buckets = grep { exists $Buckets{$_->{'plugin_instance'} || ''} }
    @{$g->{'idents'}};
  my @drawn = _rank (@members);
  my @rest = ();
  if (@drawn > $Top)
  {
    @rest = @drawn[$Top .. $#drawn];
    @drawn = @drawn[0 .. $Top - 1];
  }
  my $rest_name = scalar (@rest) . ' more';
  my $width = length ('node total');
  for ((map { $_->{'plugin_instance'} || '' } (@drawn, @buckets)), $rest_name)
  {
    my $l = length (substr ($_, 0, 40));
    $width = $l if ($l > $width);
  }
  my $n = 0;
  for my $ident (@drawn, @buckets)
  {
    my $name = substr ($ident->{'plugin_instance'} || '', 0, 40);
    my $colour = $Buckets{$name} || $Palette[$n % @Palette];
    $colour = $Buckets{$name} if (exists $Buckets{$name});
    my $file = _escape (ident_to_filename ($ident));
    push (@ret, "DEF:m$n=$file:value:AVERAGE",
      "CDEF:z$n=m$n,UN,0,m$n,IF",
      "AREA:z$n#$colour:" . _escape (sprintf ('%-*s', $width, $name))
        . ($n ? ':STACK' : ''),
      "GPRINT:m$n:AVERAGE:$format Avg,",
      "GPRINT:m$n:LAST:$format Last\\l");
    $n++;
    if ($n == @drawn && @rest)
    {
      my @rpn = ();
      for (my $r = 0; $r < @rest; $r++)
      {
        my $file = _escape (ident_to_filename ($rest[$r]));
        push (@ret, "DEF:r$r=$file:value:AVERAGE", "CDEF:y$r=r$r,UN,0,r$r,IF");
        push (@rpn, $r ? "y$r,+" : 'y0');
      }
      push (@ret, 'CDEF:rest=' . join (',', @rpn),
        "AREA:rest#C5B0D5:" . sprintf ('%-*s', $width, $rest_name) . ':STACK',
        "GPRINT:rest:AVERAGE:$format Avg,",
        "GPRINT:rest:LAST:$format Last\\l");
    }
  }
  my $node = ident_to_filename ({%$first, plugin => 'kepler_node',
      type_instance => 'total', plugin_instance => undef});
  if (-f $node)
  {
    push (@ret, "DEF:node=" . _escape ($node) . ":value:AVERAGE",
      "LINE2:node#000000:" . sprintf ('%-*s', $width, 'node total'),
      "GPRINT:node:AVERAGE:$format Avg,",
      "GPRINT:node:LAST:$format Last\\l");
  }
  return (\@ret);
}

sub getGraphArgs
{
  my $obj = shift;
  my $index = shift;
  my $g = $obj->_groups ()->[$index];
  if (!$g)
  {
    return ('');
  }
  my $ident = $g->{'idents'}[0];
  my @parts = ($g->{'kind'} eq 'file')
    ? (qw(hostname plugin plugin_instance type type_instance))
    : ($g->{'kind'} eq 'level') ? (qw(hostname plugin type))
    : (qw(hostname plugin plugin_instance type));
  my @args = ();
  for (@parts)
  {
    if (defined ($ident->{$_}))
    {
      push (@args, uri_escape ($_) . '=' . uri_escape ($ident->{$_}));
    }
  }
  # The node's and a member's graphs select their files by type instance:
  # the same query then finds this graph alone.
  if ($g->{'kind'} eq 'split' || $g->{'kind'} eq 'lines')
  {
    push (@args, map { 'type_instance=' . uri_escape ($_->{'type_instance'}) }
      @{$g->{'idents'}});
  }
  return (join (';', @args));
}

# vim: set shiftwidth=2 softtabstop=2 tabstop=8 :
