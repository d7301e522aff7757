// Whole-process figures for the video pipeline, each printed with a baseline measured in the same
// run on the same machine and clip (the machines are noisy: compare ratios, not absolute numbers):
//
//   1. replay speed of 720p25 H.264 through assure-replay, against the decoder alone (gst-launch,
//      the faster of its threaded and single-threaded runs), each the faster of two
//                                                                    target: at least 0.9 of it
//   2. raw input, as a camera gives it (the same clip uncompressed, nothing to decode): CPU per
//      frame of assure-edged filming it (frames mapped from the file, the analysis, and the
//      recording branch up to the encoder: a queue passing references) against the Motion daemon
//      (Debian's motion 4.5) on the same frames as Y4M, both from tmpfs, each by thread, split into
//      getting frames in and analysing them, the lower of two runs
//                                                                    target: at least 2.5x less
//   3. beyond decoding, on the H.264 clip: assure-edged's CPU per frame less the decoder-alone
//      floor (decoding at 25 fps, as both daemons do; the burst floor printed beside it), against
//      Motion's less the same floor                                  target: at least 3x less
//   4. peak RSS of assure-edged filming 1080p25 raw with a 10 s pre-event ring and clips being
//      cut, against the same with clips off                           target: under 120 MB
//      and, for what a software decoder and encoder cost, the same from the 1080p H.264 file
//      against gst-launch decoding and encoding it alone (the floor of that configuration)
//
//   pipeline_bench [--quick] [--bin DIR] [--work DIR]
// --quick: short clips and runs (ctest uses it to show the bench works); figures are rougher.

#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace fs = std::filesystem;
using namespace std::chrono_literals;

namespace {

struct Usage {
  int status = -1;
  double wall = 0;  // s
  double cpu = 0;   // user + system, s, all threads
  long max_rss_kb = 0;
  std::string output;
};

double seconds(const timeval& t) { return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_usec) / 1e6; }

// Starts argv with stdout+stderr to a file.
pid_t spawn(const std::vector<std::string>& argv, const fs::path& log) {
  const pid_t pid = fork();
  if (pid == 0) {
    std::FILE* out = std::fopen(log.c_str(), "w");
    if (out != nullptr) {
      dup2(fileno(out), STDOUT_FILENO);
      dup2(fileno(out), STDERR_FILENO);
    }
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    execvp(args[0], args.data());
    _exit(127);
  }
  return pid;
}

// Runs argv with stdout+stderr to a file; stops it with SIGTERM after `limit` (0: runs to the end).
Usage run(const std::vector<std::string>& argv, const fs::path& log, std::chrono::milliseconds limit = 0ms) {
  Usage usage;
  const auto begin = std::chrono::steady_clock::now();
  const pid_t pid = spawn(argv, log);
  if (limit > 0ms) {
    std::this_thread::sleep_for(limit);
    kill(pid, SIGTERM);
  }
  rusage r{};
  int status = 0;
  wait4(pid, &status, 0, &r);
  usage.status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  usage.wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - begin).count();
  usage.cpu = seconds(r.ru_utime) + seconds(r.ru_stime);
  usage.max_rss_kb = r.ru_maxrss;
  std::ifstream in(log);
  usage.output.assign(std::istreambuf_iterator<char>(in), {});
  return usage;
}

// CPU seconds (user + system) in a /proc stat file's fields, and the name in it.
double cpu_in(const std::string& stat_file, std::string* name = nullptr) {
  std::ifstream in(stat_file);
  std::string text((std::istreambuf_iterator<char>(in)), {});
  const auto open = text.find('('), close = text.rfind(')');
  if (open == std::string::npos || close == std::string::npos) return -1;
  if (name != nullptr) *name = text.substr(open + 1, close - open - 1);
  std::istringstream fields(text.substr(close + 2));
  std::string field;
  double utime = 0, stime = 0;
  for (int i = 3; fields >> field; ++i) {
    if (i == 14) utime = std::stod(field);
    if (i == 15) {
      stime = std::stod(field);
      break;
    }
  }
  return (utime + stime) / static_cast<double>(sysconf(_SC_CLK_TCK));
}

// CPU seconds a running process has used so far (all threads).
double cpu_of(pid_t pid) { return cpu_in("/proc/" + std::to_string(pid) + "/stat"); }

// CPU seconds so far of each of its threads, summed by thread name.
std::map<std::string, double> cpu_by_thread(pid_t pid) {
  std::map<std::string, double> out;
  std::error_code ec;
  for (const auto& task : fs::directory_iterator("/proc/" + std::to_string(pid) + "/task", ec)) {
    std::string name;
    const double cpu = cpu_in((task.path() / "stat").string(), &name);
    if (cpu >= 0) out[name] += cpu;
  }
  return out;
}

bool make_clip(const fs::path& file, int width, int height, int seconds_long) {
  if (fs::exists(file)) return true;
  const fs::path partial = file.string() + ".tmp.mp4";
  // vtest.avi (real pedestrians) scaled up and brought to 25 fps, looped to the length asked.
  const int frames = seconds_long * 25;
  const std::string launch =
      "multifilesrc location=/usr/share/doc/opencv-doc/examples/data/vtest.avi loop=true ! decodebin ! "
      "videoscale ! video/x-raw,width=" + std::to_string(width) + ",height=" + std::to_string(height) +
      " ! videorate ! video/x-raw,framerate=25/1 ! identity eos-after=" + std::to_string(frames) +
      " ! videoconvert ! x264enc speed-preset=veryfast bitrate=" + std::to_string(width >= 1920 ? 4000 : 2500) +
      " key-int-max=50 ! h264parse ! mp4mux ! filesink location=" + partial.string();
  std::vector<std::string> argv{"gst-launch-1.0", "-q"};
  std::istringstream words(launch);
  for (std::string w; words >> w;) argv.push_back(w);
  const Usage made = run(argv, fs::path(file.string() + ".log"));
  if (made.status != 0) {
    std::cerr << "could not make " << file << ":\n" << made.output;
    return false;
  }
  fs::rename(partial, file);
  return true;
}

void line(const std::string& name, const std::string& figure, const std::string& baseline, double ratio,
          const std::string& target, bool met) {
  std::printf("%-34s %-28s %-34s ratio %7.2f   target %-22s %s\n", name.c_str(), figure.c_str(), baseline.c_str(),
              ratio, target.c_str(), met ? "MET" : "MISSED");
}

std::string f(const char* format, double v) {
  char text[64];
  std::snprintf(text, sizeof text, format, v);
  return text;
}

// The first `frames` frames of an H.264 clip uncompressed: `<file>.yuv`, I420 frames back to back
// (what the device reads, mapped by assurerawsrc), and `<file>.y4m`, the same bytes with the Y4M
// headers (what Motion reads, through ffmpeg).
bool make_raw(const fs::path& clip, const fs::path& file, int frames, int width, int height) {
  const fs::path yuv = file.string() + ".yuv", y4m = file.string() + ".y4m";
  if (fs::exists(yuv) && fs::exists(y4m)) return true;
  const fs::path partial = file.string() + ".tmp";
  const Usage made = run({"gst-launch-1.0", "-q", "filesrc", "location=" + clip.string(), "!", "qtdemux", "!",
                          "h264parse", "!", "avdec_h264", "!", "video/x-raw,format=I420", "!", "identity",
                          "eos-after=" + std::to_string(frames), "!", "filesink", "location=" + partial.string()},
                         fs::path(file.string() + ".log"));
  const std::size_t frame_bytes = static_cast<std::size_t>(width) * height * 3 / 2;
  if (made.status != 0 || fs::file_size(partial) % frame_bytes != 0) {
    std::cerr << "could not make " << yuv << ":\n" << made.output;
    return false;
  }
  {
    std::ifstream in(partial, std::ios::binary);
    std::ofstream out(y4m.string() + ".tmp", std::ios::binary);
    out << "YUV4MPEG2 W" << width << " H" << height << " F25:1 Ip A1:1 C420jpeg\n";
    std::vector<char> frame(frame_bytes);
    while (in.read(frame.data(), static_cast<std::streamsize>(frame.size()))) {
      out << "FRAME\n";
      out.write(frame.data(), static_cast<std::streamsize>(frame.size()));
    }
    if (!out) return false;
  }
  fs::rename(y4m.string() + ".tmp", y4m);
  fs::rename(partial, yuv);
  return true;
}

double summary_frames(const std::string& output) {
  double n = 0;
  std::istringstream lines(output);
  for (std::string l; std::getline(lines, l);) {
    auto j = nlohmann::json::parse(l, nullptr, false);
    if (!j.is_discarded() && j.value("type", "") == "summary") n = j.value("frames", 0.0);
  }
  return n;
}

// CPU per frame at 25 fps of a process over a window, in all and by thread (where it goes).
struct PerFrame {
  double ms = -1;       // -1: could not be measured
  std::string threads;  // "name 0.42, name 0.31, ..." the busiest first
  std::map<std::string, double> by_thread;  // ms a frame, by thread name

  // Of the threads whose names begin with one of `prefixes`.
  double of(std::initializer_list<const char*> prefixes) const {
    double sum = 0;
    for (const auto& [name, thread_ms] : by_thread) {
      for (const char* p : prefixes) {
        if (name.rfind(p, 0) == 0) {
          sum += thread_ms;
          break;
        }
      }
    }
    return sum;
  }
};

// Runs argv in the background with its output to `log`; its CPU over `window` after a settling
// few seconds, per frame at 25 fps.
PerFrame cpu_per_frame(const std::vector<std::string>& argv, const fs::path& log, std::chrono::milliseconds window) {
  const pid_t pid = spawn(argv, log);
  std::this_thread::sleep_for(3s);  // started, the pipeline playing
  const double before = cpu_of(pid);
  const auto threads_before = cpu_by_thread(pid);
  std::this_thread::sleep_for(window);
  const double after = cpu_of(pid);
  const auto threads_after = cpu_by_thread(pid);
  kill(pid, SIGTERM);
  waitpid(pid, nullptr, 0);
  PerFrame out;
  const double frames = std::chrono::duration<double>(window).count() * 25;
  if (before < 0 || after <= before) return out;
  out.ms = (after - before) / frames * 1000;
  std::vector<std::pair<double, std::string>> busiest;
  for (const auto& [name, cpu] : threads_after) {
    const auto was = threads_before.find(name);
    const double ms = (cpu - (was != threads_before.end() ? was->second : 0)) / frames * 1000;
    if (ms >= 0.01) busiest.emplace_back(ms, name);
    out.by_thread[name] += ms;
  }
  std::sort(busiest.rbegin(), busiest.rend());
  for (const auto& [ms, name] : busiest) out.threads += (out.threads.empty() ? "" : ", ") + name + f(" %.2f", ms);
  return out;
}

// A device file filming `video` (looped, at its frame rate), uplink unreachable, in `dir`.
fs::path device_file(const fs::path& dir, const fs::path& video, bool evidence) {
  // Raw frames carry no header: their size and rate (the bench's clips are 16:9 at 25 fps).
  std::string raw;
  if (video.extension() == ".yuv") {
    const bool hd = video.string().find("1080p") != std::string::npos;
    raw = std::string("width = ") + (hd ? "1920" : "1280") + "\nheight = " + (hd ? "1080" : "720") + "\nframerate = 25\n";
  }
  fs::remove_all(dir);
  fs::create_directories(dir);
  std::ofstream(dir / "device.toml")
      << "[device]\nid = \"bench\"\nsite = \"bench\"\nstate_dir = \"state\"\n[mqtt]\nbrokers = [\"tcp://127.0.0.1:1\"]\n"
      << "[camera]\nsource = \"file\"\nlocation = \"" << video.string() << "\"\nloop = true\n" << raw
      << "[evidence]\nenabled = " << (evidence ? "true" : "false") << "\ndir = \"clips\"\npre_event = 10\n"
      << "post_event = 20\n[log]\nlevel = \"warn\"\n";
  return dir / "device.toml";
}

std::vector<std::string> daemon_argv(const fs::path& bin, const fs::path& config) {
  return {(bin / "assure-edged").string(), "--config", config.string(), "--board-dir",
          (fs::path(ASSURE_SOURCE_DIR) / "board").string()};
}

// The daemon as on a device: motion analysis at its 10 fps, evidence clips off (the recording
// branch up to the encoder is a queue passing references; the encoder is the board's hardware).
PerFrame daemon_cpu_per_frame(const fs::path& bin, const fs::path& dir, const fs::path& video,
                            std::chrono::milliseconds window) {
  return cpu_per_frame(daemon_argv(bin, device_file(dir, video, false)), dir / "daemon.log", window);
}

// Motion plays a file at its frame rate through its ffmpeg input (netcam_url file://).
PerFrame motion_cpu_per_frame(const fs::path& work, const fs::path& video, int width, int height,
                            std::chrono::milliseconds window) {
  const fs::path conf = work / ("motion-" + video.stem().string() + ".conf");
  std::ofstream(conf) << "daemon off\nsetup_mode off\nlog_level 4\nlog_file " << (work / "motion.log").string() << "\n"
                      << "target_dir " << (work / "motion-out").string() << "\nnetcam_url file://" << video.string()
                      << "\nwidth " << width << "\nheight " << height << "\nframerate 25\npicture_output off\n"
                      << "movie_output off\nstream_port 0\nwebcontrol_port 0\n";
  return cpu_per_frame({"/usr/bin/motion", "-n", "-c", conf.string()}, work / "motion.out", window);
}

Usage daemon_rss(const fs::path& bin, const fs::path& dir, const fs::path& video, bool evidence,
                 std::chrono::milliseconds how_long) {
  return run(daemon_argv(bin, device_file(dir, video, evidence)), dir / "daemon.log", how_long);
}

}  // namespace

int main(int argc, char** argv) {
  bool quick = false;
  fs::path bin = fs::canonical("/proc/self/exe").parent_path();
  fs::path work = fs::temp_directory_path() / "assure-pipeline-bench";
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--quick") quick = true;
    else if (arg == "--bin" && i + 1 < argc) bin = argv[++i];
    else if (arg == "--work" && i + 1 < argc) work = argv[++i];
    else {
      std::cerr << "usage: pipeline_bench [--quick] [--bin DIR] [--work DIR]\n";
      return 2;
    }
  }
  fs::create_directories(work);
  work = fs::absolute(work);  // the daemon resolves file paths against its config file's folder
  const int length = quick ? 8 : 40;
  const fs::path clip720 = work / ("vtest-720p25-" + std::to_string(length) + "s.mp4");
  const fs::path clip1080 = work / ("vtest-1080p25-" + std::to_string(length) + "s.mp4");
  if (!make_clip(clip720, 1280, 720, length) || !make_clip(clip1080, 1920, 1080, length)) return 1;
  // The same frames uncompressed, as a camera gives them (8 s of 1080p is 620 MB: looped).
  const int raw_frames = quick ? 200 : 500;  // 20 s of 720p is 690 MB
  const fs::path raw720 = work / ("vtest-720p25-" + std::to_string(raw_frames) + "f");
  const fs::path raw1080 = work / "vtest-1080p25-200f";
  if (!make_raw(clip720, raw720, raw_frames, 1280, 720) || !make_raw(clip1080, raw1080, 200, 1920, 1080)) return 1;
  fs::path yuv720 = raw720.string() + ".yuv", y4m720 = raw720.string() + ".y4m";
  // Both read their frames from memory, as a camera gives them: the raw 720p files copied to
  // tmpfs when there is room. On disk, this machine's reclaimer drops a looped file's cold pages
  // between two passes, and each pass reads part of it from disk again, by chance more for one
  // process than the other.
  const fs::path ram = "/dev/shm/assure-pipeline-bench";
  bool in_ram = false;
  {
    std::error_code ec;
    const auto needed = fs::file_size(yuv720, ec) + fs::file_size(y4m720, ec);
    if (!ec && fs::is_directory("/dev/shm", ec) && fs::space("/dev/shm", ec).available > 2 * needed && !ec) {
      fs::create_directories(ram, ec);
      for (fs::path* file : {&yuv720, &y4m720}) {
        const fs::path copy = ram / file->filename();
        if (!ec && (!fs::exists(copy) || fs::file_size(copy) != fs::file_size(*file))) {
          fs::copy_file(*file, copy, fs::copy_options::overwrite_existing, ec);
        }
        if (!ec) *file = copy;
      }
      in_ram = !ec;
    }
  }
  const fs::path yuv1080 = raw1080.string() + ".yuv";
  const double frames = length * 25.0;
  int failures = 0;
  std::printf("pipeline_bench%s: %d cores, clips of %d s at 25 fps (%g frames) in %s\n\n", quick ? " --quick" : "",
              static_cast<int>(std::thread::hardware_concurrency()), length, frames, work.c_str());

  // 1. Replay speed against the decoder alone (its best: frame threads or one thread).
  auto decode_alone = [&](const fs::path& clip, const std::string& threads) {
    return run({"gst-launch-1.0", "-q", "filesrc", "location=" + clip.string(), "!", "qtdemux", "!", "h264parse", "!",
                "avdec_h264", "max-threads=" + threads, "!", "fakesink", "sync=false"},
               work / "decode.log");
  };
  // Each the faster of two runs in a full run (one run's wall time moves by a third on this
  // machine), taken in turn.
  auto faster = [](const Usage& a, const Usage& b) { return b.status == 0 && b.wall < a.wall ? b : a; };
  const int tries = quick ? 1 : 2;
  Usage decode_threads, decode_one, replay;
  for (int i = 0; i < tries; ++i) {
    const Usage threads = decode_alone(clip720, "0"), one = decode_alone(clip720, "1");
    const Usage ours = run({(bin / "assure-replay").string(), "--json", clip720.string()}, work / "replay.log");
    decode_threads = i == 0 ? threads : faster(decode_threads, threads);
    decode_one = i == 0 ? one : faster(decode_one, one);
    replay = i == 0 ? ours : faster(replay, ours);
  }
  const Usage& decode = decode_one.wall <= decode_threads.wall ? decode_one : decode_threads;
  const double replay_frames = summary_frames(replay.output);
  // The clip maker's frame count is approximate (videorate): the replay's own count is the truth.
  if (decode.status != 0 || replay.status != 0 || replay_frames < frames * 0.95) {
    std::cerr << "replay or decode failed (" << replay_frames << " frames):\n" << decode.output << replay.output;
    ++failures;
  }
  const double media = replay_frames / 25.0;
  line("720p25 H.264 replay speed", f("%.1fx real time", media / replay.wall),
       "decoder alone " + f("%.1fx real time", media / decode.wall), decode.wall / replay.wall,
       ">= 0.9 of the decoder", decode.wall / replay.wall >= 0.9);
  std::printf("%-34s decoder alone with frame threads %.1fx, one thread %.1fx real time\n", "",
              media / decode_threads.wall, media / decode_one.wall);

  // 2. Raw input: CPU per frame of the daemon (the .yuv) and of Motion (the same frames as Y4M),
  // both playing at 25 fps.
  const auto window = quick ? 4s : 20s;
  const bool have_motion = fs::exists("/usr/bin/motion");
  // Each measured in turn, twice in a full run, the lower kept: Motion's file reader now and then
  // spends twice its usual CPU for a whole window (1.7 or 4.6 ms a frame on the same file).
  const int runs = quick ? 1 : 2;
  auto lower = [](const PerFrame& a, const PerFrame& b) { return a.ms < 0 || (b.ms >= 0 && b.ms < a.ms) ? b : a; };
  PerFrame ours_raw, motion_raw;
  for (int i = 0; i < runs; ++i) {
    ours_raw = lower(ours_raw, daemon_cpu_per_frame(bin, work / "raw720", yuv720, window));
    if (have_motion) motion_raw = lower(motion_raw, motion_cpu_per_frame(work, y4m720, 1280, 720, window));
  }
  if (ours_raw.ms <= 0) ++failures;
  if (motion_raw.ms > 0) {
    line("CPU per 720p frame, raw input", f("assure %.2f ms", ours_raw.ms), f("motion 4.5 %.2f ms", motion_raw.ms),
         motion_raw.ms / ours_raw.ms, ">= 2.5x less than motion", motion_raw.ms / ours_raw.ms >= 2.5);
  } else {
    std::printf("%-34s assure %.2f ms; the Motion daemon could not be measured (is motion installed?)\n",
                "CPU per 720p frame, raw input", ours_raw.ms);
  }
  // Where it goes (ms a frame by thread): the source's, the analysis branch's scaling, the analysis.
  std::printf("%-34s assure by thread: %s\n", in_ram ? "  (frames read from tmpfs)" : "  (frames read from disk)",
              ours_raw.threads.c_str());
  if (motion_raw.ms > 0) {
    std::printf("%-34s motion by thread: %s\n", "", motion_raw.threads.c_str());
    // The two halves of the work: getting frames in (our source; Motion's netcam reader), and
    // looking at them (our scaling and analysis threads; Motion's motion loop).
    const double ours_in = ours_raw.of({"assurerawsrc"}), motion_in = motion_raw.of({"nc"});
    const double ours_look = ours_raw.of({"analysis_queue", "video-analysis"}), motion_look = motion_raw.of({"ml"});
    std::printf("%-34s frames in: assure %.2f ms, motion %.2f ms (%.2fx less); analysis: assure %.2f ms, motion "
                "%.2f ms (%.2fx less)\n",
                "", ours_in, motion_in, motion_in / std::max(0.001, ours_in), ours_look, motion_look,
                motion_look / std::max(0.001, ours_look));
  }

  // 3. Beyond decoding: the same on the H.264 clip, less the decoder alone's CPU per frame.
  const double floor_ms = decode_one.cpu / std::max(1.0, replay_frames) * 1000;
  PerFrame ours_file, motion_file;
  for (int i = 0; i < runs; ++i) {
    ours_file = lower(ours_file, daemon_cpu_per_frame(bin, work / "h264-720", clip720, window));
    if (have_motion) motion_file = lower(motion_file, motion_cpu_per_frame(work, clip720, 1280, 720, window));
  }
  // The decoder alone as both daemons run it: at 25 fps, one frame every 40 ms (one thread, as
  // the daemon's). A frame decoded alone in a burst costs much less than one decoded every 40 ms
  // (its reference frames and tables stay in cache): the burst floor leaves in "beyond decoding"
  // what pacing adds to decoding itself.
  PerFrame paced;
  for (int i = 0; i < runs; ++i) {
    paced = lower(paced, cpu_per_frame({"gst-launch-1.0", "-q", "filesrc", "location=" + clip720.string(), "!",
                                        "qtdemux", "!", "h264parse", "!", "avdec_h264", "max-threads=1", "!",
                                        "fakesink", "sync=true"},
                                       work / "decode-paced.log", window));
  }
  const double ours_h264 = ours_file.ms, motion_h264 = motion_file.ms;
  if (motion_h264 > 0 && paced.ms > 0) {
    const double ours_beyond = std::max(0.01, ours_h264 - paced.ms), motion_beyond = motion_h264 - paced.ms;
    line("CPU per 720p frame beyond decoding", f("assure %.2f ms", ours_beyond), f("motion 4.5 %.2f ms", motion_beyond),
         motion_beyond / ours_beyond, ">= 3x less than motion", motion_beyond / ours_beyond >= 3);
    std::printf("%-34s whole process: assure %.2f ms, motion %.2f ms; the decoder alone at 25 fps %.2f ms a frame "
                "(in a burst %.2f: beyond that, assure %.2f, motion %.2f)\n",
                "", ours_h264, motion_h264, paced.ms, floor_ms, ours_h264 - floor_ms, motion_h264 - floor_ms);
    std::printf("%-34s assure by thread: %s\n%-34s motion by thread: %s\n", "", ours_file.threads.c_str(), "",
                motion_file.threads.c_str());
  }

  // 4. Peak memory at 1080p25 with a 10 s pre-event ring: raw frames as a camera gives them, then
  // the H.264 file against decoding and encoding it alone.
  const Usage raw_plain = daemon_rss(bin, work / "rss-raw-plain", yuv1080, false, quick ? 10s : 30s);
  const Usage raw_clips = daemon_rss(bin, work / "rss-raw-clips", yuv1080, true, quick ? 10s : 30s);
  const double mb = static_cast<double>(raw_clips.max_rss_kb) / 1024;
  line("peak RSS, 1080p25 raw, 10 s ring", f("%.0f MB with clips", mb),
       f("%.0f MB with clips off", static_cast<double>(raw_plain.max_rss_kb) / 1024),
       static_cast<double>(raw_clips.max_rss_kb) / static_cast<double>(std::max(1L, raw_plain.max_rss_kb)), "< 120 MB",
       mb < 120);
  const Usage file_clips = daemon_rss(bin, work / "rss-h264-clips", clip1080, true, quick ? 8s : 30s);
  const Usage codec_floor =
      run({"gst-launch-1.0", "-q", "filesrc", "location=" + clip1080.string(), "!", "qtdemux", "!", "h264parse", "!",
           "avdec_h264", "max-threads=1", "!", "x264enc", "tune=zerolatency", "speed-preset=veryfast",
           "option-string=subme=0", "bitrate=4000", "!", "fakesink"},
          work / "codec-floor.log");
  std::printf("%-34s %.0f MB from the 1080p H.264 file with clips; decoding and encoding it alone (gst-launch): "
              "%.0f MB\n",
              "  software decoder and encoder", static_cast<double>(file_clips.max_rss_kb) / 1024,
              static_cast<double>(codec_floor.max_rss_kb) / 1024);
  for (const auto* u : {&raw_clips, &file_clips}) {
    if (u->output.find("video lost") != std::string::npos || u->output.find("NOT written") != std::string::npos) {
      std::cerr << "the daemon's video or clips failed:\n" << u->output;
      ++failures;
    }
  }
  if (!fs::exists(work / "rss-raw-clips" / "clips") || fs::is_empty(work / "rss-raw-clips" / "clips")) {
    std::cerr << "no clip was cut from the raw 1080p video:\n" << raw_clips.output;
    ++failures;
  }
  if (in_ram) fs::remove_all(ram);  // 1.4 GB of memory
  std::printf("\nlogs and clips: %s\n", work.c_str());
  return failures == 0 ? 0 : 1;
}
