# Sourced by build.sh and test.sh: the CMake preset from --system / --cuda or SINKLAB_TORCH.
PRESET=default
case "${SINKLAB_TORCH:-wheel}" in
  system) PRESET=system ;;
  cuda) PRESET=cuda ;;
esac
for arg in "$@"; do
  case "$arg" in
    --system) PRESET=system ;;
    --cuda) PRESET=cuda ;;
  esac
done
