"""Files under var/ are their owner's only: what an older version or another umask left is tightened at start."""
import os
import socket
import stat

from bot.core.files import secure_tree


def test_secure_tree_tightens_every_folder_and_file_and_leaves_links_and_sockets(tmp_path):
    root = tmp_path / "var"
    (root / "run").mkdir(parents=True, mode=0o755)
    (root / "run" / "supervisord.pid").write_text("1")
    (root / "test-logs").mkdir(mode=0o775)
    (root / "test-logs" / "medius.log").write_text("log")
    for path in (root, root / "run", root / "test-logs"):
        path.chmod(0o755)
    for path in (root / "run" / "supervisord.pid", root / "test-logs" / "medius.log"):
        path.chmod(0o644)
    outside = tmp_path / "outside.txt"
    outside.write_text("not ours to change")
    outside.chmod(0o644)
    (root / "link").symlink_to(outside)
    with socket.socket(socket.AF_UNIX) as sock:
        sock.bind(str(root / "run" / "supervisor.sock"))
        os.chmod(root / "run" / "supervisor.sock", 0o700)
        fixed = secure_tree(root)
        assert stat.S_IMODE((root / "run" / "supervisor.sock").stat().st_mode) == 0o700
    assert set(fixed) == {root, root / "run", root / "test-logs", root / "run" / "supervisord.pid",
                          root / "test-logs" / "medius.log"}
    assert all(stat.S_IMODE(p.stat().st_mode) == 0o700 for p in (root, root / "run", root / "test-logs"))
    assert stat.S_IMODE((root / "test-logs" / "medius.log").stat().st_mode) == 0o600
    assert stat.S_IMODE(outside.stat().st_mode) == 0o644  # a link is not followed
    assert secure_tree(root) == []


def test_secure_tree_of_a_missing_folder_is_nothing(tmp_path):
    assert secure_tree(tmp_path / "none") == []
