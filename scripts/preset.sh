# Sourced by build.sh and test.sh: the CMake preset from --system / --cuda or SINKLAB_TORCH.
PRESET=default
case "${SINKLAB_TORCH:-wheel}" in
  wheel) ;;
  system) PRESET=system ;;
  cuda) PRESET=cuda ;;
  *) echo "build: error: SINKLAB_TORCH=$SINKLAB_TORCH is not one of wheel, cuda, system" >&2; exit 2 ;;
esac
for arg in "$@"; do
  case "$arg" in
    --system) PRESET=system ;;
    --cuda) PRESET=cuda ;;
    *) echo "build: error: unknown option '$arg' (expected --system or --cuda)" >&2; exit 2 ;;
  esac
done
